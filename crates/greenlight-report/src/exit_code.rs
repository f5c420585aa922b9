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
}
