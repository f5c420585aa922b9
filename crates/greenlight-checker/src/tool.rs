//! Running a check's tools: the one place where a command's failure to start, its death by a
//! signal, its timeout and its cancellation become the check's outcome.
//!
//! A checker builds a [`ToolInvocation`] ([`CheckContext::tool`] for a declared tool), runs
//! it, and gets a [`ToolOutput`] only when the tool exited on its own; every other end is a
//! [`CheckError`] with the command line attached, returned with `?`. What the exit code and the
//! output mean is the checker's pure interpret step.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Duration;

use greenlight_process::{Cmd, ExitState, Output, ProcessError, Stop};

use crate::ToolSpec;
use crate::context::{CheckContext, ResolvedTool};
use crate::error::CheckError;
use crate::result::CheckResult;

/// Lines of output kept in the reason of a tool that crashed.
const CRASH_TAIL_LINES: usize = 20;

impl CheckContext {
    /// The declared tool `spec` as resolved for this run.
    ///
    /// The orchestrator reports missing tools before running a check, so this only fails when
    /// a check asks for a tool it did not declare in [`crate::CheckerInfo::tools`].
    pub fn resolved(&self, spec: &ToolSpec) -> Result<&ResolvedTool, CheckError> {
        self.tools.get(spec.name).ok_or_else(|| {
            CheckError::errored(format!(
                "the tool `{}` was not resolved for this check (a bug: declare it in CheckerInfo::tools)",
                spec.name
            ))
        })
    }

    /// An invocation of the declared tool `spec`: its resolved executable, run in the project
    /// root with the check's log and allowed variables ([`CheckContext::cmd`]); a tool that
    /// must come from the project environment also runs with that environment's `bin` first
    /// on `PATH` and `VIRTUAL_ENV` set.
    pub fn tool(&self, spec: &ToolSpec) -> Result<ToolInvocation, CheckError> {
        let tool = self.resolved(spec)?;
        let mut command = self.cmd(&tool.path);
        if spec.in_environment {
            command = self.in_environment(command);
        }
        Ok(ToolInvocation { hint: Some(spec.install_hint), ..self.invocation(spec.name, command) })
    }

    /// `command` with the project environment's `bin` first on `PATH` and `VIRTUAL_ENV` set,
    /// when the check has the environment; else unchanged.
    pub fn in_environment(&self, command: Cmd) -> Cmd {
        match &self.environment {
            Some(environment) => {
                command.env("VIRTUAL_ENV", &environment.root).env("PATH", self.path_with(&environment.bin()))
            }
            None => command,
        }
    }

    /// An invocation of `command`, called `name` in messages (`git`, `gitleaks --help`), that
    /// stops with the check: for commands that are not a declared tool, or that need a [`Cmd`]
    /// set up otherwise (no log file, another directory).
    pub fn invocation(&self, name: impl Into<String>, command: Cmd) -> ToolInvocation {
        ToolInvocation { name: name.into(), hint: None, command, stop: self.stop.clone() }
    }

    /// The user's `PATH` (as captured for the run) with `dir` in front.
    pub fn path_with(&self, dir: &Path) -> OsString {
        let mut path = dir.as_os_str().to_os_string();
        if let Some(rest) = self.var("PATH").filter(|rest| !rest.is_empty()) {
            path.push(":");
            path.push(rest);
        }
        path
    }
}

/// A command a check runs, named for messages; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ToolInvocation {
    name: String,
    hint: Option<&'static str>,
    command: Cmd,
    stop: Stop,
}

impl ToolInvocation {
    /// How messages call the tool (`python -m build` rather than `build`).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds one argument.
    #[must_use]
    pub fn arg(self, arg: impl AsRef<OsStr>) -> Self {
        self.map(|command| command.arg(arg))
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.map(|command| command.args(args))
    }

    /// Sets an environment variable.
    #[must_use]
    pub fn env(self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.map(|command| command.env(name, value))
    }

    /// Removes an environment variable.
    #[must_use]
    pub fn env_remove(self, name: impl AsRef<OsStr>) -> Self {
        self.map(|command| command.env_remove(name))
    }

    /// Runs in `dir` instead of the project root.
    #[must_use]
    pub fn current_dir(self, dir: impl AsRef<Path>) -> Self {
        self.map(|command| command.current_dir(dir))
    }

    /// Keeps at most this many bytes of each stream in memory.
    #[must_use]
    pub fn capture_limit(self, bytes: usize) -> Self {
        self.map(|command| command.capture_limit(bytes))
    }

    /// Keeps at most this many bytes of stdout in memory (stderr keeps its own limit).
    #[must_use]
    pub fn stdout_limit(self, bytes: usize) -> Self {
        self.map(|command| command.stdout_limit(bytes))
    }

    /// Stops the tool (and its process group) after this long: [`CheckError::TimedOut`].
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|command| command.timeout(timeout))
    }

    /// Changes the underlying [`Cmd`] in any other way.
    #[must_use]
    pub fn map(mut self, change: impl FnOnce(Cmd) -> Cmd) -> Self {
        self.command = change(self.command);
        self
    }

    /// The command line, program first (for the report).
    pub fn argv(&self) -> Vec<String> {
        self.command.argv()
    }

    /// The command line for messages, shell-quoted.
    pub fn display(&self) -> String {
        self.command.display()
    }

    /// Runs the tool until it exits, or until its timeout or the check's stop.
    ///
    /// `Ok` only when it exited on its own, whatever its exit code. A tool that cannot be
    /// started, or that was killed by a signal, is [`CheckError::Errored`]; one past its
    /// timeout is [`CheckError::TimedOut`]; one stopped with the check is
    /// [`CheckError::Cancelled`]. Each carries the command line.
    pub async fn run(self) -> Result<ToolOutput, CheckError> {
        let argv = self.command.argv();
        let output = match self.command.run(&self.stop).await {
            Ok(output) => output,
            Err(error) => {
                let hint = match (&error, self.hint) {
                    (ProcessError::NotFound { .. }, Some(hint)) => format!("; {hint}"),
                    _ => String::new(),
                };
                return Err(
                    CheckError::errored(format!("cannot run {}: {error}{hint}", self.name)).with_command(argv, None)
                );
            }
        };
        let name = &self.name;
        let leak = output.leaked.as_ref().map(|leak| leak.message(name));
        let error = match output.status {
            ExitState::Exited(_) => return Ok(ToolOutput { argv, output, leak }),
            ExitState::TimedOut => CheckError::timed_out(format!("{name} timed out"), leak),
            ExitState::Cancelled => CheckError::Cancelled { summary: format!("{name} was cancelled"), command: None },
            ExitState::Signaled(_) => {
                let tail = output.both_tails(CRASH_TAIL_LINES);
                CheckError::errored(with_leak(format!("{name} crashed: {}\n{tail}", output.status), leak.as_deref()))
            }
        };
        Err(error.with_command(argv, None))
    }
}

/// `reason` followed, on a line of its own, by what the tool left running, if anything.
fn with_leak(reason: String, leak: Option<&str>) -> String {
    match leak {
        Some(leak) => format!("{}\n{leak}", reason.trim_end()),
        None => reason,
    }
}

/// A tool that exited on its own: its command line and output, for the checker's interpret
/// step. Dereferences to the [`Output`].
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// The command line that ran, program first.
    pub argv: Vec<String>,
    /// How it ended and what it printed.
    pub output: Output,
    /// What it left running when it exited, killed since, as a sentence ("a process started
    /// by `ruff` outlived it (pid 123, `sleep 300`); it was killed"; see
    /// [`greenlight_process::Leak`]). [`ToolOutput::error`] adds it to the reason, and
    /// [`ToolOutput::attach`] to a result that has one; the check's log always has it.
    pub leak: Option<String>,
}

impl ToolOutput {
    /// Its exit code (`-1` when the platform gave none).
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// `result` with this command line and exit code as the check's command, and what the
    /// tool left running added to its reason when it has one (errored, skipped).
    pub fn attach(&self, mut result: CheckResult) -> CheckResult {
        result.reason = result.reason.map(|reason| with_leak(reason, self.leak.as_deref()));
        result.with_command(self.argv.clone(), Some(&self.output))
    }

    /// `errored` because of `reason` (and what the tool left running), with this command line
    /// and exit code.
    pub fn error(&self, reason: impl Into<String>) -> CheckError {
        CheckError::errored(with_leak(reason.into(), self.leak.as_deref()))
            .with_command(self.argv.clone(), self.output.status.code())
    }
}

impl std::ops::Deref for ToolOutput {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.output
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::Project;

    fn context(root: &Path) -> CheckContext {
        CheckContext {
            project: Arc::new(Project { root: root.to_path_buf(), ..Project::default() }),
            tools: BTreeMap::new(),
            environment: None,
            scratch: root.join("scratch"),
            log_path: root.join("check.log"),
            stop: Stop::new(),
            fix: false,
            pass_env: Vec::new(),
            run_id: "test".into(),
            vars: BTreeMap::new(),
            at_revision: false,
            changed: None,
            secrets: Default::default(),
            state_dir: std::env::temp_dir(),
            partition: None,
        }
    }

    /// A script that leaves a process of its own session running (its pid in `pidfile`),
    /// then ends with `end`.
    fn leaving(cx: &CheckContext, pidfile: &str, end: &str) -> ToolInvocation {
        let script = format!(
            "setsid sh -c 'echo $$ > {pidfile}; exec sleep 300' >/dev/null 2>&1 & \
             until [ -s {pidfile} ] && [ \"$(tr '\\0' ' ' < /proc/$(cat {pidfile})/cmdline)\" = 'sleep 300 ' ]; \
             do sleep 0.01; done; {end}"
        );
        cx.invocation("leaver", cx.cmd("sh").args(["-c", &script]))
    }

    #[tokio::test]
    async fn what_a_tool_left_running_reaches_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path());
        let output = leaving(&cx, "daemon.pid", "echo done").run().await.unwrap();
        let pid = std::fs::read_to_string(dir.path().join("daemon.pid")).unwrap();
        let leak = output.leak.clone().expect("the leak is named");
        assert_eq!(
            leak,
            format!("a process started by `leaver` outlived it (pid {}, `sleep 300`); it was killed", pid.trim())
        );
        // A result with a reason gets the sentence; a verdict of its own stays as it is.
        let errored = output.attach(CheckResult::errored("the report is unreadable"));
        assert_eq!(errored.reason.unwrap(), format!("the report is unreadable\n{leak}"));
        assert_eq!(output.attach(CheckResult::passed("ok")).reason, None);
        let CheckError::Errored { reason, .. } = output.error("no report") else { panic!("errored") };
        assert_eq!(reason, format!("no report\n{leak}"));

        let crashed = leaving(&cx, "crashed.pid", "kill -SEGV $$").run().await.unwrap_err();
        let CheckError::Errored { reason, .. } = crashed else { panic!("errored: {crashed:?}") };
        assert!(reason.starts_with("leaver crashed: killed by SIGSEGV"), "{reason}");
        let last = reason.lines().last().unwrap_or_default();
        assert!(last.starts_with("a process started by `leaver` outlived it (pid "), "{reason}");
    }
}
