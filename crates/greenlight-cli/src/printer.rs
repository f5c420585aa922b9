//! What the command line prints, decided once from `-q`, `-v` and `--no-progress` (a
//! [`Printer`]), and where: the live view on stderr, the summary on stdout (stderr when
//! stdout carries the JSON report).

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use greenlight_env::{Env, EnvVars};
use greenlight_orchestrator::{Observer, RunEvent};
use greenlight_report::RunReport;
use greenlight_reporters::terminal::{LiveMode, LiveView, SummaryOptions};

use crate::cli::OutputArgs;

/// What the command prints, from `-q`, `-v` and `--no-progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    /// How much.
    pub verbosity: Verbosity,
    /// Whether a run's live progress may be drawn as bars.
    pub progress: Progress,
}

/// How much the command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Only problems and the result (`-q`).
    Quiet,
    /// Progress and the summary.
    Default,
    /// Every finding in the summary (`-v`).
    Verbose,
}

/// Whether live progress may be drawn as bars (on a terminal, outside CI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Bars where the terminal allows.
    Bars,
    /// One line per event (`--no-progress`).
    Lines,
}

/// What a run's live view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// The run's progress, as the printer says.
    Shown,
    /// Nothing (a run among many, whose command prints its own lines).
    Hidden,
}

/// Where a command's summary goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error: stdout carries a machine-readable document (`--json -`).
    Stderr,
}

impl Stream {
    /// Stderr when `json` is `-` (the JSON goes to stdout), else stdout.
    pub fn beside_json(json: Option<&std::path::Path>) -> Self {
        if json == Some(std::path::Path::new("-")) { Stream::Stderr } else { Stream::Stdout }
    }

    /// Prints `text` there.
    #[expect(clippy::print_stdout, clippy::print_stderr, reason = "the one place summaries are printed")]
    pub fn print(self, text: &str) {
        match self {
            Stream::Stdout => {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            Stream::Stderr => eprint!("{text}"),
        }
    }

    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

impl Printer {
    /// The printer of the output flags.
    pub fn from_args(args: &OutputArgs) -> Self {
        let verbosity = if args.quiet {
            Verbosity::Quiet
        } else if args.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Default
        };
        Self { verbosity, progress: if args.no_progress { Progress::Lines } else { Progress::Bars } }
    }

    /// A printer of this verbosity whose runs print lines, not bars.
    pub fn lines(verbosity: Verbosity) -> Self {
        Self { verbosity, progress: Progress::Lines }
    }

    /// True unless quiet.
    pub fn shows_progress_lines(self) -> bool {
        self.verbosity != Verbosity::Quiet
    }

    /// The live view of a run: bars on a terminal (outside CI, unless `--no-progress`), lines
    /// in CI and pipes, nothing when quiet or hidden.
    pub fn live_view(self, env: &Env, live: Live) -> Arc<LiveView> {
        let stderr_tty = std::io::stderr().is_terminal();
        let mode = if self.verbosity == Verbosity::Quiet || live == Live::Hidden {
            LiveMode::Silent
        } else if self.progress == Progress::Bars && stderr_tty && !env.flag(EnvVars::CI) {
            LiveMode::Bars
        } else {
            LiveMode::Lines
        };
        Arc::new(LiveView::new(mode, color(env) && stderr_tty))
    }

    /// Prints the summary of `report` to `stream`.
    pub fn summary(self, report: &RunReport, stream: Stream, env: &Env) {
        let options = SummaryOptions {
            color: color(env) && stream.is_terminal(),
            verbose: self.verbosity == Verbosity::Verbose,
            quiet: self.verbosity == Verbosity::Quiet,
            ..SummaryOptions::default()
        };
        stream.print(&greenlight_reporters::terminal::render_summary(report, &options));
    }
}

/// Colour unless `NO_COLOR` is set.
fn color(env: &Env) -> bool {
    env.get(EnvVars::NO_COLOR).is_none()
}

/// Forwards a run's events to the live view.
pub struct LiveObserver(pub Arc<LiveView>);

impl Observer for LiveObserver {
    fn on_event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Started { id, title } => self.0.started(id, title),
            RunEvent::Finished(report) => {
                self.0.finished(&report.id, &greenlight_reporters::terminal::live_line(report, self.0.color()));
            }
            RunEvent::Stopping(_) => {}
        }
    }
}
