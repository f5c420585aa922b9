//! Process exit codes of `greenlight` (contract).

use crate::{Outcome, RunReport};

/// The exit codes of `greenlight`. They are a contract relied on by users' CI scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// Every check passed or was skipped.
    Success = 0,
    /// At least one check failed: the project is defective.
    Failed = 1,
    /// At least one check errored or timed out, and none failed: greenlight could not decide.
    Errored = 2,
    /// A usage or configuration error; nothing was run.
    Usage = 3,
    /// Every check passed or was skipped, but an output the user asked for (`--json`,
    /// `--junit`, `--sarif`, `--markdown`, the step summary) could not be written: CI must not
    /// go green without the files it reads. A failed or errored run keeps its own code.
    OutputNotWritten = 4,
    /// The run was interrupted (Ctrl-C or SIGTERM).
    Interrupted = 130,
}

impl ExitCode {
    /// The numeric process exit code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code for a finished (or interrupted) run.
    ///
    /// `interrupted` wins over everything; then any `failed` check gives 1; then any `errored`
    /// or `timed_out` check gives 2; otherwise 0. A `cancelled` check without an interruption
    /// (fail-fast) does not change the code: the check that caused it already did.
    pub fn for_report(report: &RunReport) -> Self {
        if report.interrupted {
            return Self::Interrupted;
        }
        Self::for_outcomes(report.checks.iter().map(|check| check.outcome))
    }

    /// The exit code of a command that ended with `self` and then wrote its outputs: a green
    /// run whose outputs could not all be written is [`ExitCode::OutputNotWritten`]; any other
    /// code stands (the report's verdict is the bigger news; the write error is printed).
    pub fn after_writing(self, all_written: bool) -> Self {
        if !all_written && self == Self::Success { Self::OutputNotWritten } else { self }
    }

    /// The exit code for a set of outcomes (see [`ExitCode::for_report`]).
    pub fn for_outcomes(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut code = Self::Success;
        for outcome in outcomes {
            match outcome {
                Outcome::Failed => return Self::Failed,
                Outcome::Errored | Outcome::TimedOut => code = Self::Errored,
                Outcome::Passed | Outcome::Skipped | Outcome::Cancelled => {}
            }
        }
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_wins_over_errored() {
        use Outcome::*;
        assert_eq!(ExitCode::for_outcomes([Passed, Skipped]), ExitCode::Success);
        assert_eq!(ExitCode::for_outcomes([Passed, Errored]), ExitCode::Errored);
        assert_eq!(ExitCode::for_outcomes([TimedOut, Passed]), ExitCode::Errored);
        assert_eq!(ExitCode::for_outcomes([Errored, Failed, TimedOut]), ExitCode::Failed);
        assert_eq!(ExitCode::for_outcomes([Cancelled]), ExitCode::Success);
        assert_eq!(ExitCode::for_outcomes([]), ExitCode::Success);
    }

    #[test]
    fn an_output_that_was_not_written_fails_only_a_green_run() {
        assert_eq!(ExitCode::Success.after_writing(true), ExitCode::Success);
        assert_eq!(ExitCode::Success.after_writing(false), ExitCode::OutputNotWritten);
        assert_eq!(ExitCode::OutputNotWritten.code(), 4);
        for code in [ExitCode::Failed, ExitCode::Errored, ExitCode::Interrupted] {
            assert_eq!(code.after_writing(false), code);
        }
    }
}
