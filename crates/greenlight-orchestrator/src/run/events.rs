//! The events of a run: what the dispatcher tells its observer, and what reaches the
//! dispatcher from the executor, the user and the clock.

use greenlight_report::{CancelReason, CheckReport};

use super::executor::Executed;

/// What the run tells its observer (the live view), in the order it happens.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// A node started.
    Started {
        /// Its id.
        id: &'a str,
        /// Its title.
        title: &'a str,
        /// Its log, written while it runs.
        log: &'a std::path::Path,
        /// What its checker reads from the log so far ([`greenlight_checker::Progress`]).
        progress: Option<greenlight_checker::Progress>,
    },
    /// A node finished, or was settled without starting (skipped, cancelled).
    Finished(&'a CheckReport),
    /// The run is stopping: nothing else starts, and running nodes are being stopped.
    Stopping(CancelReason),
}

/// Receives the events of a run; the terminal's live view implements it.
pub trait Observer: Send + Sync {
    /// One event.
    fn on_event(&self, _event: RunEvent<'_>) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;
impl Observer for NoObserver {}

/// What reaches the dispatcher while nodes run.
#[derive(Debug)]
pub(super) enum InternalEvent {
    /// The executor finished the node running as `task`.
    Executed {
        /// The node's task.
        task: tokio::task::Id,
        /// What it produced.
        executed: Box<Executed>,
    },
    /// A node's task panicked (a bug in a checker).
    Panicked {
        /// The task, to find the node.
        task: tokio::task::Id,
        /// The panic's message.
        message: String,
    },
    /// The user's stop fired (Ctrl-C).
    Interrupted,
    /// The run's timeout elapsed.
    Deadline,
}
