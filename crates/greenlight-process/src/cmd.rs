//! The command builder and runner.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::capture::Captured;
use crate::leak::{self, Leak, Stream};
use crate::log::{DEFAULT_LOG_HEAD, DEFAULT_LOG_TAIL, Log};
use crate::spawner::{self, Running};
use crate::stop::Stop;
use crate::unix::{self, SIGKILL, SIGTERM};

/// Default number of bytes kept of each of stdout and stderr ([`Captured`]).
pub const DEFAULT_CAPTURE_LIMIT: usize = 256 * 1024;
/// Default time between SIGTERM and SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3);
/// Default time stdout and stderr may stay open after the child exited. Whatever still holds
/// them then is a leak ([`Output::leaked`]): it is killed and reading stops.
pub const DEFAULT_LEAK_TIMEOUT: Duration = Duration::from_millis(500);
/// After the holders of an open pipe were killed, how long to read what they wrote until then.
const DRAIN_AFTER_KILL: Duration = Duration::from_millis(200);

/// A command to run: program, arguments, directory, environment, limits.
///
/// The environment is the parent's minus secret-looking variables ([`crate::is_secret_name`])
/// unless [`Cmd::pass_env`] names them, plus [`Cmd::env`] overrides, plus
/// [`crate::TAG_VARIABLE`] (always set: it is how processes the command started are found
/// after they left its group). Program, arguments, directory and environment are bytes
/// (`OsString`), passed to the child unchanged.
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
    leak_timeout: Duration,
    log: Option<PathBuf>,
    log_head: u64,
    log_tail: u64,
    stdout_limit: usize,
    stderr_limit: usize,
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
    /// Processes it started that outlived it, or kept its output open, and were killed
    /// ([`Leak::message`] says so in a sentence). When a stream was held open
    /// ([`Leak::held_open`]), its capture ends where reading stopped: what is there is kept.
    pub leaked: Option<Leak>,
}

impl Output {
    /// The last `lines` lines of stderr, or of stdout when stderr is empty.
    pub fn tail(&self, lines: usize) -> String {
        let stderr = self.stderr.tail_lines(lines);
        if stderr.is_empty() { self.stdout.tail_lines(lines) } else { stderr }
    }

    /// stdout and stderr as text, for error messages: the last `lines` of each, labelled;
    /// `(no output)` when the command printed nothing, so that a message never ends on the colon
    /// that introduces it.
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
        if out.is_empty() {
            out.push_str("(no output)");
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
            leak_timeout: DEFAULT_LEAK_TIMEOUT,
            log: None,
            log_head: DEFAULT_LOG_HEAD,
            log_tail: DEFAULT_LOG_TAIL,
            stdout_limit: DEFAULT_CAPTURE_LIMIT,
            stderr_limit: DEFAULT_CAPTURE_LIMIT,
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

    /// Starts from an empty environment (only [`Cmd::env`] values and the tag variable).
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

    /// How long stdout and stderr may stay open after the child exited before whatever holds
    /// them is reported as a leak and killed ([`DEFAULT_LEAK_TIMEOUT`]).
    pub fn leak_timeout(mut self, timeout: Duration) -> Self {
        self.leak_timeout = timeout;
        self
    }

    /// Appends the command line, all output and the exit status to this file, within the
    /// log limit ([`Cmd::log_limit`]).
    pub fn log_file(mut self, path: impl AsRef<Path>) -> Self {
        self.log = Some(path.as_ref().to_path_buf());
        self
    }

    /// Limits the log file: it keeps the first `head` bytes and at least the last `tail`
    /// bytes, with a marker line for what is omitted between them, and never grows past
    /// `head + 2 × tail` plus the marker. Commands logging to one file share its limit.
    /// Default: [`DEFAULT_LOG_HEAD`] and [`DEFAULT_LOG_TAIL`] (4 MiB each).
    pub fn log_limit(mut self, head: u64, tail: u64) -> Self {
        self.log_head = head;
        self.log_tail = tail;
        self
    }

    /// Keeps at most this many bytes of each of stdout and stderr in memory.
    pub fn capture_limit(mut self, bytes: usize) -> Self {
        self.stdout_limit = bytes;
        self.stderr_limit = bytes;
        self
    }

    /// Keeps at most this many bytes of stdout in memory ([`DEFAULT_CAPTURE_LIMIT`]).
    pub fn stdout_limit(mut self, bytes: usize) -> Self {
        self.stdout_limit = bytes;
        self
    }

    /// Keeps at most this many bytes of stderr in memory ([`DEFAULT_CAPTURE_LIMIT`]).
    pub fn stderr_limit(mut self, bytes: usize) -> Self {
        self.stderr_limit = bytes;
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

    /// The arguments as given, as bytes.
    pub fn args_os(&self) -> &[OsString] {
        &self.args
    }

    /// The command line as strings (program first), for reports. Bytes that are not UTF-8
    /// become U+FFFD here only; the child gets them unchanged.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(&self.program).chain(&self.args).map(|part| part.to_string_lossy().into_owned()).collect()
    }

    /// The command line, shell-quoted where needed, for messages and logs. Words that are
    /// not UTF-8 are written in `$'...'` quoting with `\xNN` escapes: exact, and valid UTF-8.
    pub fn display(&self) -> String {
        quote_words(std::iter::once(&self.program).chain(&self.args))
    }

    fn command(&self, tag: &str) -> tokio::process::Command {
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
            .env(crate::procfs::TAG_VARIABLE, tag)
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        unix::die_with_parent(&mut command);
        command
    }

    /// Runs the command to completion, or until its timeout or `stop`.
    ///
    /// A non-zero exit is not an error: callers decide what exit codes mean. `Err` means the
    /// command could not be run at all. When this returns, the child is reaped and every
    /// process found to belong to it is dead (see the crate documentation).
    pub async fn run(&self, stop: &Stop) -> Result<Output, ProcessError> {
        let started = Instant::now();
        let command_line = self.display();
        tracing::debug!(command = %command_line, cwd = ?self.cwd, "running");
        let log = match &self.log {
            Some(path) => {
                let to_error = |source| ProcessError::Log { path: path.clone(), source };
                let log = Log::open(path, self.log_head, self.log_tail).map_err(to_error)?;
                log.write(format!("$ {command_line}\n").as_bytes()).map_err(to_error)?;
                Some(Arc::new(log))
            }
            None => None,
        };

        let tag = spawner::new_tag();
        let mut running = spawner::spawn(self.command(&tag), tag).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ProcessError::NotFound { program: self.program.to_string_lossy().into_owned() }
            } else {
                ProcessError::Spawn { command: command_line.clone(), source }
            }
        })?;
        let (stdin, stdout, stderr) = match running.child_mut() {
            Some(child) => (child.stdin.take(), child.stdout.take(), child.stderr.take()),
            None => (None, None, None),
        };
        let _writer = match (self.stdin.clone(), stdin) {
            (Some(bytes), Some(mut stdin)) => Some(AbortOnDrop(tokio::spawn(async move {
                use tokio::io::AsyncWriteExt as _;
                // A child that exits or closes stdin early gives EPIPE here, which is fine.
                let _ = stdin.write_all(&bytes).await;
            }))),
            _ => None,
        };
        let stop_reading = CancellationToken::new();
        let mut out = Drain::start(stdout, Stream::Stdout, self.stdout_limit, log.clone(), &stop_reading);
        let mut err = Drain::start(stderr, Stream::Stderr, self.stderr_limit, log.clone(), &stop_reading);

        let timeout = async {
            match self.timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let waited = tokio::select! {
            () = running.exited() => Waited::Exited,
            () = timeout => Waited::TimedOut,
            () = stop.cancelled() => Waited::Cancelled,
        };
        if !matches!(waited, Waited::Exited) {
            terminate(&mut running, self.grace, stop).await;
        }
        // The child exited and is not reaped: its group id cannot be reused yet. Give the
        // pipes the leak timeout to close; whatever still holds them then is a leak.
        if !stop.is_killed() {
            tokio::select! {
                _ = tokio::time::timeout(self.leak_timeout, async { tokio::join!(out.closed(), err.closed()) }) => {}
                () = stop.killed() => {}
            }
        }
        let open: Vec<(Stream, u64)> = [&out, &err].into_iter().filter_map(Drain::open_pipe).collect();
        let leaked = leak::settle(&running, &open).await;
        if !open.is_empty() {
            let _ = tokio::time::timeout(DRAIN_AFTER_KILL, async { tokio::join!(out.closed(), err.closed()) }).await;
        }
        stop_reading.cancel();
        let stdout = out.finish().await;
        let stderr = err.finish().await;
        let reaped = running.reap().await;
        let status = match waited {
            Waited::Exited => {
                exit_state(reaped.map_err(|source| ProcessError::Wait { command: command_line.clone(), source })?)
            }
            Waited::TimedOut => ExitState::TimedOut,
            Waited::Cancelled => ExitState::Cancelled,
        };
        let duration = started.elapsed();
        if let Some(log) = &log {
            if let Some(leak) = &leaked {
                let _ = log.write(format!("\n[{}]", leak.message(&self.program_name())).as_bytes());
            }
            let _ = log.write(format!("\n[{status} after {:.2}s]\n", duration.as_secs_f64()).as_bytes());
        }
        if let Some(leak) = &leaked {
            tracing::debug!(command = %command_line, "{}", leak.message(&self.program_name()));
        }
        tracing::debug!(command = %command_line, %status, ?duration, "finished");
        Ok(Output { status, stdout, stderr, duration, leaked })
    }

    /// The program's file name, for messages.
    fn program_name(&self) -> String {
        let path = Path::new(&self.program);
        path.file_name().unwrap_or(path.as_os_str()).to_string_lossy().into_owned()
    }
}

enum Waited {
    Exited,
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
/// SIGKILL, then until the child has exited (it is not reaped here).
async fn terminate(running: &mut Running, grace: Duration, stop: &Stop) {
    if !stop.is_killed() {
        running.signal_group(SIGTERM);
        tokio::select! {
            () = running.exited() => {}
            () = tokio::time::sleep(grace) => {}
            () = stop.killed() => {}
        }
    }
    running.signal_group(SIGKILL);
    running.exited().await;
}

/// Aborts a task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One output stream being read into a [`Captured`] and the log.
struct Drain {
    stream: Stream,
    inode: Option<u64>,
    limit: usize,
    task: Option<JoinHandle<Captured>>,
    done: Option<Captured>,
}

impl Drain {
    fn start<R>(
        reader: Option<R>,
        stream: Stream,
        limit: usize,
        log: Option<Arc<Log>>,
        stop: &CancellationToken,
    ) -> Self
    where
        R: AsyncRead + std::os::fd::AsRawFd + Unpin + Send + 'static,
    {
        let inode = reader.as_ref().and_then(|reader| crate::procfs::pipe_inode(reader.as_raw_fd()));
        let stop = stop.clone();
        let task = reader.map(|mut reader| {
            tokio::spawn(async move {
                let mut captured = Captured::new(limit);
                let mut buffer = vec![0u8; 64 * 1024];
                loop {
                    let read = tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        read = reader.read(&mut buffer) => read,
                    };
                    match read {
                        Ok(0) | Err(_) => break,
                        Ok(read) => {
                            captured.push(&buffer[..read]);
                            if let Some(log) = &log {
                                let _ = log.write(&buffer[..read]);
                            }
                        }
                    }
                }
                captured
            })
        });
        Self { stream, inode, limit, task, done: None }
    }

    /// Completes when the stream ended (or reading stopped), keeping what was read.
    async fn closed(&mut self) {
        if let Some(task) = self.task.as_mut() {
            let captured = task.await.unwrap_or_else(|_| Captured::new(self.limit));
            self.task = None;
            self.done = Some(captured);
        }
    }

    /// The stream and its pipe's inode while it is still open.
    fn open_pipe(&self) -> Option<(Stream, u64)> {
        self.task.as_ref().filter(|task| !task.is_finished()).and(self.inode).map(|inode| (self.stream, inode))
    }

    /// What was read (after reading was stopped or the stream ended).
    async fn finish(mut self) -> Captured {
        self.closed().await;
        self.done.take().unwrap_or_else(|| Captured::new(self.limit))
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The words of a command line, each quoted for a POSIX shell when it needs it.
pub(crate) fn quote_words<'a>(words: impl IntoIterator<Item = &'a OsString>) -> String {
    words.into_iter().map(|word| quote_os(word)).collect::<Vec<_>>().join(" ")
}

fn quote_os(word: &OsStr) -> String {
    match word.to_str() {
        Some(word) => greenlight_report::text::shell_quote(word),
        None => ansi_c_quote(word.as_bytes()),
    }
}

/// `$'...'` quoting (bash, zsh, ksh, POSIX.1-2024 sh): UTF-8 text as is, other bytes as `\xNN`.
/// For words that are not UTF-8, which `text::shell_quote` (strings) cannot take.
fn ansi_c_quote(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn non_utf8_words_are_quoted_exactly() {
        let word = OsString::from_vec(b"caf\xc3\xa9-\xff'\\".to_vec());
        assert_eq!(quote_os(&word), "$'café-\\xff\\'\\\\'");
        let command = Cmd::new("ls").arg(OsString::from_vec(b"a\xfeb".to_vec()));
        assert_eq!(command.display(), "ls $'a\\xfeb'");
        assert_eq!(command.argv(), ["ls", "a\u{fffd}b"]);
        assert_eq!(Cmd::new("echo").args(["it's", "plain"]).display(), "echo 'it'\\''s' plain");
    }
}
