//! What a failed `python -m build` says: whether the project is at fault or the build
//! environment could not be set up, and the lines that explain it.
//!
//! build prints its own verdict as the last `ERROR ...` line on stderr; the backend's traceback
//! and messages land on either stream, so both are searched.

use greenlight_checker::text;

/// Who is at fault for a failed build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The project does not build: bad metadata, a broken backend configuration, missing files.
    Project,
    /// The isolated build environment could not be set up: its requirements
    /// (`[build-system].requires`) could not be installed, or a virtual environment could not be
    /// made. greenlight cannot judge the project.
    Environment,
    /// Nothing says the project is at fault: `python -m build` itself crashed (its own
    /// traceback), or its output is not what build prints. greenlight cannot judge the project.
    Frontend,
}

/// A failed build, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    /// Who is at fault.
    pub kind: FailureKind,
    /// build's own verdict (the last `ERROR` line without the prefix), if it printed one.
    pub headline: Option<String>,
    /// The lines that say why: the exception that ended the backend, the backend's `error:`
    /// lines, or the installer's messages.
    pub cause: Vec<String>,
    /// The requirements build tried to install into the isolated environment.
    pub requirements: Vec<String>,
    /// A line and column of `pyproject.toml` named by the error, when there is one.
    pub pyproject_position: Option<(u32, u32)>,
}

/// Most cause lines kept.
const MAX_CAUSE_LINES: usize = 12;
/// Longest cause line kept (pip lists every version it knows in one line).
const MAX_LINE: usize = 300;

/// Reads the output of a failed `python -m build` (exit code 1).
pub fn classify(stdout: &str, stderr: &str) -> BuildFailure {
    let headline = stderr
        .lines()
        .chain(stdout.lines())
        .filter_map(|line| line.strip_prefix("ERROR "))
        .next_back()
        .map(|line| line.trim().to_string());
    let requirements = isolated_requirements(stderr);
    let installer_failed = headline.as_deref().is_some_and(is_environment_command);
    let kind = if installer_failed {
        FailureKind::Environment
    } else if headline.as_deref().is_some_and(is_project_verdict) {
        FailureKind::Project
    } else {
        FailureKind::Frontend
    };
    let cause = if installer_failed {
        let lines = installer_messages(stderr);
        if lines.is_empty() { installer_messages(stdout) } else { lines }
    } else {
        project_causes(stdout, stderr)
    };
    let pyproject_position = headline.as_deref().and_then(pyproject_position);
    BuildFailure { kind, headline, cause, requirements, pyproject_position }
}

/// True for build's own verdicts that blame the project (build's `__main__`/`_builder`): the
/// backend failed or is not there, `pyproject.toml` does not parse, the directory is not a
/// project. Anything else build prints after `ERROR` is its own crash (`_handle_build_error`
/// prints an unexpected exception's traceback, then `ERROR <exception>`).
fn is_project_verdict(headline: &str) -> bool {
    headline.starts_with("Backend subprocess exited")
        || headline.starts_with("Backend operation failed")
        || (headline.starts_with("Backend '") && headline.contains("is not available"))
        || (headline.starts_with("Failed to parse") && headline.contains("pyproject.toml"))
        || headline.contains("does not appear to be a Python project")
        || headline.contains("`build-system`")
}

/// True for build's `Command '[... pip ... install ...]' returned non-zero exit status N.` and
/// the same for the venv it creates.
fn is_environment_command(headline: &str) -> bool {
    let Some(command) = headline.strip_prefix("Command '") else {
        return false;
    };
    let command = command.split("' returned").next().unwrap_or(command);
    let installs = command.contains("'install'") && (command.contains("pip") || command.contains("uv"));
    let venv = command.contains("'venv'") || command.contains("virtualenv");
    installs || venv
}

/// The `- requirement` lines after `* Installing packages in isolated environment:`.
fn isolated_requirements(stderr: &str) -> Vec<String> {
    let mut requirements = Vec::new();
    let mut in_list = false;
    for line in stderr.lines() {
        if line.starts_with("* Installing packages in isolated environment") {
            in_list = true;
            continue;
        }
        if in_list {
            match line.trim_start().strip_prefix("- ") {
                Some(requirement) if line.starts_with("  ") => {
                    let requirement = requirement.trim().to_string();
                    if !requirements.contains(&requirement) {
                        requirements.push(requirement);
                    }
                }
                _ => in_list = false,
            }
        }
    }
    requirements
}

/// The installer's messages as build echoes them (`< ` prefix, wrapped lines indented), keeping
/// the lines that explain the failure.
fn installer_messages(text: &str) -> Vec<String> {
    let mut logical: Vec<String> = Vec::new();
    let mut in_output = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("< ") {
            logical.push(rest.trim().to_string());
            in_output = true;
        } else if in_output && line.starts_with("  ") {
            if let Some(last) = logical.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            in_output = false;
        }
    }
    let wanted = |line: &str| {
        let lower = line.to_ascii_lowercase();
        ["error", "cause:", "because", "hint:", "no matching distribution", "could not", "failed", "unable"]
            .iter()
            .any(|marker| lower.contains(marker))
    };
    let mut lines: Vec<String> =
        logical.iter().filter(|line| wanted(line)).map(|line| text::clip(line, MAX_LINE)).collect();
    if lines.is_empty() {
        lines = logical.iter().rev().take(5).rev().map(|line| text::clip(line, MAX_LINE)).collect();
    }
    lines.dedup();
    lines.truncate(MAX_CAUSE_LINES);
    lines
}

/// The backend's own `error:` lines, then the exception that ended it.
fn project_causes(stdout: &str, stderr: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut push = |line: &str| {
        let line = text::clip(line.trim(), MAX_LINE);
        if !line.is_empty() && !lines.contains(&line) {
            lines.push(line);
        }
    };
    // The backend's own `error:` lines say what is wrong in the project's words; the exception
    // that ended it comes after them.
    for text in [stdout, stderr] {
        for line in text.lines() {
            let lower = line.trim_start().to_ascii_lowercase();
            if lower.starts_with("error:") || lower.starts_with("configuration error:") {
                push(line);
            }
        }
    }
    for text in [stderr, stdout] {
        for line in last_exception(text) {
            push(&line);
        }
    }
    lines.truncate(MAX_CAUSE_LINES);
    lines
}

/// The exception lines of the last Python traceback in `text`: the first unindented line after
/// the frames, and the unindented lines after it up to build's own output.
fn last_exception(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().rposition(|line| line.starts_with("Traceback (most recent call last)")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in &lines[start + 1..] {
        if line.starts_with(' ') || line.starts_with('\t') {
            if out.is_empty() {
                continue; // a frame
            }
            break;
        }
        if line.trim().is_empty()
            || line.starts_with("TIP ")
            || line.starts_with("ERROR ")
            || line.starts_with("* ")
            || line.starts_with("Traceback")
        {
            break;
        }
        out.push(line.to_string());
    }
    out
}

/// `(at line N, column M)` in build's `Failed to parse ./pyproject.toml: ...` message.
fn pyproject_position(headline: &str) -> Option<(u32, u32)> {
    if !headline.starts_with("Failed to parse") || !headline.contains("pyproject.toml") {
        return None;
    }
    let at = headline.rfind("(at line ")?;
    let rest = &headline[at + "(at line ".len()..];
    let (line, rest) = rest.split_once(", column ")?;
    let column = rest.split(')').next()?;
    Some((line.trim().parse().ok()?, column.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(name: &str) -> BuildFailure {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let stdout = std::fs::read_to_string(data.join(format!("{name}.stdout"))).unwrap();
        let stderr = std::fs::read_to_string(data.join(format!("{name}.stderr"))).unwrap();
        classify(&stdout, &stderr)
    }

    #[test]
    fn invalid_version_is_the_projects_fault() {
        let failure = recorded("invalid-version");
        assert_eq!(failure.kind, FailureKind::Project);
        assert_eq!(
            failure.headline.as_deref(),
            Some("Backend subprocess exited when trying to invoke get_requires_for_build_sdist")
        );
        assert_eq!(
            failure.cause,
            [
                "configuration error: `project.version` must be pep440",
                "ValueError: invalid pyproject.toml config: `project.version`.",
            ]
        );
        assert_eq!(failure.requirements, ["setuptools>=61"]);
    }

    #[test]
    fn uninstallable_backend_with_uv_is_the_environment() {
        let failure = recorded("backend-not-installable-uv");
        assert_eq!(failure.kind, FailureKind::Environment);
        assert_eq!(failure.requirements, ["setuptools>=9999"]);
        assert_eq!(
            failure.cause,
            [
                "error: No solution found when resolving dependencies",
                "cause: Because only setuptools<=84.2.1 is available and you require setuptools>=9999, we can conclude that your requirements are unsatisfiable.",
            ]
        );
    }

    #[test]
    fn uninstallable_backend_with_pip_is_the_environment() {
        let failure = recorded("backend-not-installable-pip");
        assert_eq!(failure.kind, FailureKind::Environment);
        assert_eq!(failure.cause.len(), 2, "{:?}", failure.cause);
        assert!(
            failure.cause[0]
                .starts_with("ERROR: Could not find a version that satisfies the requirement setuptools>=9999")
        );
        assert!(failure.cause[0].ends_with('…'), "pip's version list is clipped");
        assert_eq!(failure.cause[1], "ERROR: No matching distribution found for setuptools>=9999");
    }

    #[test]
    fn broken_pyproject_names_its_position() {
        let failure = recorded("broken-pyproject");
        assert_eq!(failure.kind, FailureKind::Project);
        assert_eq!(failure.pyproject_position, Some((1, 14)));
        assert!(failure.headline.unwrap().starts_with("Failed to parse badtoml/pyproject.toml"));
        assert!(failure.cause.is_empty());
    }

    #[test]
    fn unimportable_backend_is_the_projects_fault() {
        let failure = recorded("backend-not-importable");
        assert_eq!(failure.kind, FailureKind::Project);
        assert_eq!(failure.headline.as_deref(), Some("Backend 'setuptools.no_such_meta' is not available."));
        assert_eq!(failure.cause, ["ModuleNotFoundError: No module named 'setuptools.no_such_meta'"]);
    }

    #[test]
    fn backend_error_lines_are_kept() {
        let failure = recorded("missing-package-dir");
        assert_eq!(failure.kind, FailureKind::Project);
        assert_eq!(failure.cause, ["error: error in 'egg_base' option: 'src' does not exist or is not a directory"]);
    }

    #[test]
    fn a_crash_of_build_itself_is_not_the_projects_fault() {
        // An unexpected exception in build: its traceback (frames in build's own code), then
        // `ERROR <the exception>`.
        let stderr = "* Creating isolated environment: venv+pip...\nTraceback (most recent call last):\n  File \"/venv/lib/python3.11/site-packages/build/__main__.py\", line 178, in _handle_build_error\n    yield\nKeyError: 'PATH'\nERROR 'PATH'\n";
        assert_eq!(classify("", stderr).kind, FailureKind::Frontend);
        // Python's own report of an uncaught exception: no `ERROR` line at all.
        let stderr = "Traceback (most recent call last):\n  File \"/venv/bin/pyproject-build\", line 5, in <module>\nImportError: cannot import name 'main' from 'build.__main__'\n";
        assert_eq!(classify("", stderr).kind, FailureKind::Frontend);
        // Output that is not build's.
        assert_eq!(classify("\u{fffd}\u{fffd}garbage", "\u{fffd}").kind, FailureKind::Frontend);
        assert_eq!(classify("", "").kind, FailureKind::Frontend);
    }

    #[test]
    fn venv_failure_is_the_environment() {
        let failure = classify(
            "",
            "ERROR Command '['/usr/bin/python3', '-m', 'venv', '/tmp/x']' returned non-zero exit status 1.\n",
        );
        assert_eq!(failure.kind, FailureKind::Environment);
    }
}
