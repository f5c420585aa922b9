//! The command builder and runner.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::task::JoinHandle;

use crate::capture::Captured;
use crate::stop::Stop;
use crate::unix::{self, GroupGuard, SIGKILL, SIGTERM};

/// Default number of bytes kept of each stream ([`Captured`]).
pub const DEFAULT_CAPTURE_LIMIT: usize = 256 * 1024;
/// Default time between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// How long to keep reading pipes after the child exited and its group was killed.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// A command to run: program, arguments, directory, environment, limits.
///
/// The environment is the parent's minus secret-looking variables ([`crate::is_secret_name`])
/// unless [`Cmd::pass_env`] names them, plus [`Cmd::env`] overrides.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    pass_env: Vec<String>,
    clear_env: bool,
    timeout: Option<Duration>,
    grace: Duration,
    log: Option<PathBuf>,
    capture_limit: usize,
    stdin: Option<Vec<u8>>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitState {
    /// It exited with this code.
    Exited(i32),
    /// It was killed by this signal (not by us).
    Signaled(i32),
    /// It ran past [`Cmd::timeout`] and was killed with its group.
    TimedOut,
    /// The [`Stop`] fired and it was killed with its group.
    Cancelled,
}

impl ExitState {
    /// The exit code, when the process exited normally.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitState::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// True for exit code 0.
    pub fn success(self) -> bool {
        self == ExitState::Exited(0)
    }
}

impl fmt::Display for ExitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitState::Exited(code) => write!(f, "exit code {code}"),
            ExitState::Signaled(signal) => write!(f, "killed by {}", unix::signal_name(*signal)),
            ExitState::TimedOut => f.write_str("timed out"),
            ExitState::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What a finished command left: how it ended and bounded copies of its output.
#[derive(Debug, Clone)]
pub struct Output {
    /// How it ended.
    pub status: ExitState,
    /// Bounded stdout.
    pub stdout: Captured,
    /// Bounded stderr.
    pub stderr: Captured,
    /// Wall-clock time.
    pub duration: Duration,
}

impl Output {
    /// The last `lines` lines of stderr, or of stdout when stderr is empty.
    pub fn tail(&self, lines: usize) -> String {
        let stderr = self.stderr.tail_lines(lines);
        if stderr.is_empty() { self.stdout.tail_lines(lines) } else { stderr }
    }

    /// stdout and stderr as text, for error messages: the last `lines` of each, labelled.
    pub fn both_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        let stdout = self.stdout.tail_lines(lines);
        let stderr = self.stderr.tail_lines(lines);
        if !stdout.is_empty() {
            out.push_str(&stdout);
        }
        if !stderr.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&stderr);
        }
        out
    }
}

/// A command that could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program does not exist.
    #[error("`{program}` was not found")]
    NotFound {
        /// The program as given.
        program: String,
    },
    /// The program exists but could not be started.
    #[error("failed to start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for the process failed.
    #[error("failed to wait for `{command}`: {source}")]
    Wait {
        /// The command line.
        command: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log file could not be written.
    #[error("failed to write the log file {}: {source}", path.display())]
    Log {
        /// The log file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Cmd {
    /// A command running `program` (a path, or a name looked up in `PATH`).
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            pass_env: Vec::new(),
            clear_env: false,
            timeout: None,
            grace: DEFAULT_GRACE,
            log: None,
            capture_limit: DEFAULT_CAPTURE_LIMIT,
            stdin: None,
        }
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|arg| arg.as_ref().to_os_string()));
        self
    }

    /// Runs in this directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((name.as_ref().to_os_string(), Some(value.as_ref().to_os_string())));
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(mut self, name: impl AsRef<OsStr>) -> Self {
        self.env.push((name.as_ref().to_os_string(), None));
        self
    }

    /// Passes these secret-looking variables through anyway (the user allowed them).
    pub fn pass_env(mut self, names: &[String]) -> Self {
        self.pass_env.extend(names.iter().cloned());
        self
    }

    /// Starts from an empty environment (only [`Cmd::env`] values).
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self
    }

    /// Kills the command (and its group) after this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time between SIGTERM and SIGKILL when stopping the command.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Appends the command line, all output and the exit status to this file.
    pub fn log_file(mut self, path: impl AsRef<Path>) -> Self {
        self.log = Some(path.as_ref().to_path_buf());
        self
    }

    /// Keeps at most this many bytes of each stream in memory.
    pub fn capture_limit(mut self, bytes: usize) -> Self {
        self.capture_limit = bytes;
        self
    }

    /// Writes these bytes to the child's stdin, then closes it.
    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// The program as given.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The command line as strings (program first), for reports.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(&self.program).chain(&self.args).map(|part| part.to_string_lossy().into_owned()).collect()
    }

    /// The command line, shell-quoted where needed, for messages and logs.
    pub fn display(&self) -> String {
        greenlight_report::text::shell_join(&self.argv())
    }

    /// Runs the command to completion, or until its timeout or `stop`.
    ///
    /// A non-zero exit is not an error: callers decide what exit codes mean. `Err` means the
    /// command could not be run at all.
    pub async fn run(&self, stop: &Stop) -> Result<Output, ProcessError> {
        let started = Instant::now();
        let command_line = self.display();
        tracing::debug!(command = %command_line, cwd = ?self.cwd, "running");
        let log = match &self.log {
            Some(path) => Some(open_log(path, &command_line)?),
            None => None,
        };

        #[expect(clippy::disallowed_methods, reason = "this crate is the one place that spawns")]
        let mut command = tokio::process::Command::new(&self.program);
        command.args(&self.args);
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command.env_clear();
        if !self.clear_env {
            command.envs(crate::env::scrubbed_env(&self.pass_env));
        }
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);

        let mut child = command.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ProcessError::NotFound { program: self.program.to_string_lossy().into_owned() }
            } else {
                ProcessError::Spawn { command: command_line.clone(), source }
            }
        })?;
        let pgid = child.id().map(|pid| pid as i32);
        let mut guard = GroupGuard { pgid };

        if let (Some(bytes), Some(mut stdin)) = (self.stdin.clone(), child.stdin.take()) {
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                let _ = stdin.write_all(&bytes).await;
            });
        }
        let stdout = drain(child.stdout.take(), self.capture_limit, log.clone());
        let stderr = drain(child.stderr.take(), self.capture_limit, log.clone());

        let timeout = async {
            match self.timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let waited = tokio::select! {
            status = child.wait() => Waited::Exited(status),
            () = timeout => Waited::TimedOut,
            () = stop.cancelled() => Waited::Cancelled,
        };
        let status = match waited {
            Waited::Exited(status) => {
                let status = status.map_err(|source| ProcessError::Wait { command: command_line.clone(), source })?;
                exit_state(status)
            }
            stopped => {
                if let Some(pgid) = pgid {
                    terminate(&mut child, pgid, self.grace, stop).await;
                }
                if matches!(stopped, Waited::TimedOut) { ExitState::TimedOut } else { ExitState::Cancelled }
            }
        };
        // Stragglers: descendants that outlived the child in its group.
        if let Some(pgid) = guard.pgid.take() {
            unix::signal_group(pgid, SIGKILL);
        }
        let stdout = finish_drain(stdout, self.capture_limit).await;
        let stderr = finish_drain(stderr, self.capture_limit).await;
        let duration = started.elapsed();
        if let Some(log) = &log {
            let mut file = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let _ = writeln!(file, "\n[{status} after {:.2}s]", duration.as_secs_f64());
        }
        tracing::debug!(command = %command_line, %status, ?duration, "finished");
        Ok(Output { status, stdout, stderr, duration })
    }
}

enum Waited {
    Exited(std::io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

fn exit_state(status: ExitStatus) -> ExitState {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitState::Exited(code),
        (None, Some(signal)) => ExitState::Signaled(signal),
        (None, None) => ExitState::Exited(-1),
    }
}

/// SIGTERM to the group, up to `grace` for the child to exit (less if `stop` is killed), then
/// SIGKILL, then reap.
async fn terminate(child: &mut tokio::process::Child, pgid: i32, grace: Duration, stop: &Stop) {
    if !stop.is_killed() {
        unix::signal_group(pgid, SIGTERM);
        tokio::select! {
            _ = child.wait() => {}
            () = tokio::time::sleep(grace) => {}
            () = stop.killed() => {}
        }
    }
    unix::signal_group(pgid, SIGKILL);
    let _ = child.wait().await;
}

type SharedLog = Arc<Mutex<std::fs::File>>;

fn open_log(path: &Path, command_line: &str) -> Result<SharedLog, ProcessError> {
    let to_error = |source| ProcessError::Log { path: path.to_path_buf(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(to_error)?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(to_error)?;
    writeln!(file, "$ {command_line}").map_err(to_error)?;
    Ok(Arc::new(Mutex::new(file)))
}

fn drain<R>(reader: Option<R>, limit: usize, log: Option<SharedLog>) -> Option<JoinHandle<Captured>>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let mut reader = reader?;
    Some(tokio::spawn(async move {
        let mut captured = Captured::new(limit);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    captured.push(&buffer[..read]);
                    if let Some(log) = &log {
                        let mut file = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let _ = file.write_all(&buffer[..read]);
                    }
                }
            }
        }
        captured
    }))
}

async fn finish_drain(handle: Option<JoinHandle<Captured>>, limit: usize) -> Captured {
    let Some(mut handle) = handle else {
        return Captured::new(limit);
    };
    match tokio::time::timeout(DRAIN_AFTER_EXIT, &mut handle).await {
        Ok(Ok(captured)) => captured,
        // A descendant that left the group still holds the pipe: give up on the rest.
        _ => {
            handle.abort();
            Captured::new(limit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_display_is_shell_quoted() {
        let command = Cmd::new("ruff").args(["check", "a b", "it's", ""]);
        assert_eq!(command.display(), "ruff check 'a b' 'it'\\''s' ''");
    }
}
