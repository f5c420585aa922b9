//! What the command line prints, decided once from `-q`, `-v`, `--no-progress` and `--color` (a
//! [`Printer`]), and where: the live view on stderr, the summary on stdout (stderr when
//! stdout carries the JSON report).

use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;

use greenlight_env::{Env, EnvVars};
use greenlight_orchestrator::{Observer, RunEvent};
use greenlight_report::RunReport;
use greenlight_reporters::terminal::{LiveMode, LiveView, SummaryOptions};

use crate::cli::{ColorWhen, OutputArgs};

/// What the command prints, from `-q`, `-v`, `--no-progress` and `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    /// How much.
    pub verbosity: Verbosity,
    /// Whether a run's live progress may be drawn as bars.
    pub progress: Progress,
    /// When to use colours.
    pub color: ColorWhen,
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

    /// The terminal's width in columns, `None` when this is not a terminal (nothing is cut).
    fn width(self) -> Option<usize> {
        let term = match self {
            Stream::Stdout => console::Term::stdout(),
            Stream::Stderr => console::Term::stderr(),
        };
        if !self.is_terminal() {
            return None;
        }
        term.size_checked().map(|(_, columns)| usize::from(columns)).filter(|columns| *columns > 0)
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
        Self { verbosity, progress: if args.no_progress { Progress::Lines } else { Progress::Bars }, color: args.color }
    }

    /// A printer of this verbosity whose runs print lines, not bars.
    pub fn lines(verbosity: Verbosity) -> Self {
        Self { verbosity, progress: Progress::Lines, color: ColorWhen::Auto }
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
        Arc::new(LiveView::new(mode, colors(self.color, env, stderr_tty), Stream::Stderr.width()))
    }

    /// Prints the summary of `report` to `stream`. `after_live` says that the run's live view
    /// already printed a line per check: the table is not printed again.
    pub fn summary(self, report: &RunReport, stream: Stream, env: &Env, after_live: bool) {
        let options = SummaryOptions {
            color: colors(self.color, env, stream.is_terminal()),
            verbose: self.verbosity == Verbosity::Verbose,
            quiet: self.verbosity == Verbosity::Quiet,
            table: !after_live,
            width: stream.width(),
            ..SummaryOptions::default()
        };
        stream.print(&greenlight_reporters::terminal::render_summary(report, &options));
    }
}

/// Whether output to a stream that `is_terminal` (or not) has colours: `--color always` or
/// `never`; with `auto`, FORCE_COLOR or CLICOLOR_FORCE (set, not empty, not `0`) turn them on,
/// then NO_COLOR (set and not empty, as no-color.org says) turns them off, else a terminal
/// has them. The order is anstream's.
pub fn colors(when: ColorWhen, env: &Env, is_terminal: bool) -> bool {
    let set = |name: &str| env.non_empty(name).is_some_and(|value| value != "0");
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto if set(EnvVars::FORCE_COLOR) || set(EnvVars::CLICOLOR_FORCE) => true,
        ColorWhen::Auto if env.non_empty(EnvVars::NO_COLOR).is_some() => false,
        ColorWhen::Auto => is_terminal,
    }
}

/// Forwards a run's events to the live view.
pub struct LiveObserver(pub Arc<LiveView>);

impl Observer for LiveObserver {
    fn on_event(&self, event: RunEvent<'_>) {
        match event {
            RunEvent::Started { id, title } => self.0.started(id, title),
            // A check the selection left out gets no line: the summary counts them in one.
            RunEvent::Finished(report) if greenlight_reporters::terminal::is_deselected(report) => {
                self.0.finished(&report.id, "");
            }
            RunEvent::Finished(report) => {
                let line = greenlight_reporters::terminal::live_line(report, self.0.color(), self.0.width());
                self.0.finished(&report.id, &line);
            }
            RunEvent::Stopping(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_flag_then_the_conventions() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().copied());
        assert!(colors(ColorWhen::Auto, &env(&[]), true));
        assert!(!colors(ColorWhen::Auto, &env(&[]), false));
        assert!(!colors(ColorWhen::Auto, &env(&[("NO_COLOR", "1")]), true));
        assert!(colors(ColorWhen::Auto, &env(&[("NO_COLOR", "")]), true), "an empty NO_COLOR is not set");
        assert!(colors(ColorWhen::Auto, &env(&[("FORCE_COLOR", "1")]), false));
        assert!(colors(ColorWhen::Auto, &env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]), false));
        assert!(!colors(ColorWhen::Auto, &env(&[("CLICOLOR_FORCE", "0")]), false));
        assert!(colors(ColorWhen::Always, &env(&[("NO_COLOR", "1")]), false));
        assert!(!colors(ColorWhen::Never, &env(&[("FORCE_COLOR", "1")]), true));
    }
}
