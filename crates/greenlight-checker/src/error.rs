//! Why a check ended without a verdict of its own: the error of [`crate::Checker::run`].

use greenlight_report::Outcome;

use crate::result::CheckResult;

/// A check that could not decide. [`Checker::run`](crate::Checker::run) returns it with `?`
/// from wherever the problem is found; [`crate::execute`] turns it into the check's result,
/// once, for every checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The check was stopped (Ctrl-C, `--fail-fast`, its timeout) before it decided:
    /// `cancelled`.
    Cancelled {
        /// One line for tables (`ruff was cancelled`).
        summary: String,
        /// The command that was running, if any.
        command: Option<Vec<String>>,
    },
    /// Something the check ran went past its own deadline: `timed_out`.
    TimedOut {
        /// One line for tables (`pytest timed out`).
        summary: String,
        /// What ran too long and what to do, when there is more to say.
        reason: Option<String>,
        /// The command that ran too long, if any.
        command: Option<Vec<String>>,
    },
    /// The check could not decide (a tool missing, crashed or printing something unusable, a
    /// service unreachable): `errored`. Never `passed`.
    Errored {
        /// Why, and what to do next; its first line becomes the summary.
        reason: String,
        /// The command whose run is the problem, if any.
        command: Option<Vec<String>>,
        /// Its exit code, when it exited.
        exit_code: Option<i32>,
    },
}

impl CheckError {
    /// `errored`, because of `reason` (what happened and what to do next).
    pub fn errored(reason: impl Into<String>) -> Self {
        Self::Errored { reason: reason.into(), command: None, exit_code: None }
    }

    /// `cancelled`, with the summary `cancelled`.
    pub fn cancelled() -> Self {
        Self::Cancelled { summary: "cancelled".to_string(), command: None }
    }

    /// `timed_out`, with a summary and, when there is more to say, a reason.
    pub fn timed_out(summary: impl Into<String>, reason: Option<String>) -> Self {
        Self::TimedOut { summary: summary.into(), reason, command: None }
    }

    /// Records the command line (and exit code) the error is about, unless one is recorded.
    #[must_use]
    pub fn with_command(mut self, argv: Vec<String>, code: Option<i32>) -> Self {
        match &mut self {
            Self::Cancelled { command, .. } | Self::TimedOut { command, .. } => {
                command.get_or_insert(argv);
            }
            Self::Errored { command, exit_code, .. } => {
                if command.is_none() {
                    *command = Some(argv);
                    *exit_code = code;
                }
            }
        }
        self
    }

    /// The outcome this error stands for.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Cancelled { .. } => Outcome::Cancelled,
            Self::TimedOut { .. } => Outcome::TimedOut,
            Self::Errored { .. } => Outcome::Errored,
        }
    }

    /// The check's result for this error.
    pub fn into_result(self) -> CheckResult {
        match self {
            Self::Cancelled { summary, command } => {
                CheckResult { command, ..CheckResult::new(Outcome::Cancelled, summary) }
            }
            Self::TimedOut { summary, reason, command } => {
                CheckResult { reason, command, ..CheckResult::new(Outcome::TimedOut, summary) }
            }
            Self::Errored { reason, command, exit_code } => {
                CheckResult { command, exit_code, ..CheckResult::errored(reason) }
            }
        }
    }
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancelled { summary, .. } => f.write_str(summary),
            Self::TimedOut { summary, reason, .. } => f.write_str(reason.as_deref().unwrap_or(summary)),
            Self::Errored { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for CheckError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_results_with_their_command() {
        let argv = vec!["ruff".to_string(), "check".to_string()];
        let result = CheckError::errored("ruff crashed\ntail").with_command(argv.clone(), Some(2)).into_result();
        assert_eq!((result.outcome, result.summary.as_str()), (Outcome::Errored, "ruff crashed"));
        assert_eq!(result.reason.as_deref(), Some("ruff crashed\ntail"));
        assert_eq!((result.command, result.exit_code), (Some(argv.clone()), Some(2)));

        let first = CheckError::errored("x").with_command(argv.clone(), Some(1));
        let again = first.clone().with_command(vec!["other".into()], Some(9));
        assert_eq!(first, again, "the first command recorded stays");

        let result = CheckError::timed_out("pytest timed out", None).with_command(argv, None).into_result();
        assert_eq!((result.outcome, result.reason), (Outcome::TimedOut, None));
        assert_eq!(CheckError::cancelled().into_result().summary, "cancelled");
    }
}
