//! What every command shares: the error that ends a command with its exit code, the project
//! root, and the handling of Ctrl-C.
#![expect(clippy::print_stderr, reason = "interruptions are announced on stderr")]

use std::path::PathBuf;

use greenlight_orchestrator::{PipelineError, PlanError};
use greenlight_process::Stop;
use greenlight_report::ExitCode;

use crate::cli::ProjectArgs;

/// An error that ends the command before or after the run, with its exit code.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: ExitCode,
}

impl Failure {
    /// A usage or configuration error (exit code 3).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Usage }
    }
    /// Something failed that is not the user's input (exit code 2).
    pub fn errored(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Errored }
    }
    /// The user interrupted (exit code 130).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: ExitCode::Interrupted }
    }
    /// The exit code.
    pub fn code(&self) -> ExitCode {
        self.code
    }
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<PipelineError> for Failure {
    fn from(error: PipelineError) -> Self {
        Self::usage(error.to_string())
    }
}

impl From<PlanError> for Failure {
    fn from(error: PlanError) -> Self {
        Self::usage(error.to_string())
    }
}

impl From<greenlight_reproduce::Error> for Failure {
    fn from(error: greenlight_reproduce::Error) -> Self {
        use greenlight_reproduce::Error;
        match error {
            Error::Usage(message) => Self::usage(message),
            Error::Errored(message) => Self::errored(message),
            Error::Interrupted(message) => Self::interrupted(message),
        }
    }
}

/// The largest file a command reads as input (a report, a bisection result): far above any
/// real report, far below what exhausts memory (`report render /dev/zero` stops here at once).
pub const INPUT_LIMIT: u64 = 256 << 20;

/// Reads the text of an input file, at most [`INPUT_LIMIT`] bytes; `name` is how the message
/// names it (`--tools-from FILE`). Every problem is a usage error.
pub fn read_input(path: &std::path::Path, name: &str) -> Result<String, Failure> {
    use std::io::Read as _;
    let fail = |error: String| Failure::usage(format!("{name}: {error}"));
    let file = std::fs::File::open(path).map_err(|error| fail(error.to_string()))?;
    let mut bytes = Vec::new();
    file.take(INPUT_LIMIT + 1).read_to_end(&mut bytes).map_err(|error| fail(error.to_string()))?;
    if bytes.len() as u64 > INPUT_LIMIT {
        return Err(fail(format!(
            "larger than {} MiB, so not a file greenlight wrote; check the path",
            INPUT_LIMIT >> 20
        )));
    }
    String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text, so not a file greenlight wrote".to_string()))
}

/// The project root from `--project` or the working directory.
pub fn project_root(args: &ProjectArgs) -> Result<PathBuf, Failure> {
    match &args.project {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(Failure::usage(format!("--project {}: no such directory", dir.display())));
            }
            // As for the working directory: a CI job pointed at the wrong directory must not go
            // green with every check skipped.
            if !dir.join("pyproject.toml").is_file() && !dir.join("greenlight.toml").is_file() {
                return Err(Failure::usage(format!(
                    "--project {}: no pyproject.toml (or greenlight.toml) there; pass the directory of a Python project, or add a greenlight.toml to check this one",
                    dir.display()
                )));
            }
            Ok(dir.clone())
        }
        None => {
            let cwd = std::env::current_dir()
                .map_err(|error| Failure::usage(format!("cannot read the working directory: {error}")))?;
            greenlight_orchestrator::discover_root(&cwd).ok_or_else(|| {
                Failure::usage(format!(
                    "no pyproject.toml in {} or any parent directory; run greenlight inside a Python project or pass --project DIR",
                    cwd.display()
                ))
            })
        }
    }
}

/// First SIGINT/SIGTERM: stop gracefully. Second: kill at once.
pub async fn watch_signals(stop: Stop) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return;
    };
    let mut count = 0;
    loop {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        count += 1;
        if count == 1 {
            eprintln!("\ninterrupted: stopping every check (press Ctrl-C again to kill at once)");
            stop.cancel();
        } else {
            eprintln!("killing every check now");
            stop.kill();
        }
    }
}
