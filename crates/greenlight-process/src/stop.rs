//! Cooperative cancellation shared by the orchestrator, checks and processes.

use tokio_util::sync::CancellationToken;

/// A two-level stop signal: *cancel* (terminate gracefully: SIGTERM, grace, SIGKILL) and
/// *kill* (SIGKILL at once, the second Ctrl-C). Clones share state; [`Stop::child`] makes a
/// signal that also fires when its parent does, but can be fired on its own (a check's timeout).
#[derive(Debug, Clone, Default)]
pub struct Stop {
    cancel: CancellationToken,
    kill: CancellationToken,
}

impl Stop {
    /// A fresh signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that fires when this one fires, and can also be fired alone.
    pub fn child(&self) -> Self {
        Self { cancel: self.cancel.child_token(), kill: self.kill.child_token() }
    }

    /// Asks everything under this signal to stop gracefully.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Asks everything under this signal to stop now (SIGKILL without grace).
    pub fn kill(&self) {
        self.cancel.cancel();
        self.kill.cancel();
    }

    /// True once [`Stop::cancel`] or [`Stop::kill`] was called here or on a parent.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// True once [`Stop::kill`] was called here or on a parent.
    pub fn is_killed(&self) -> bool {
        self.kill.is_cancelled()
    }

    /// Completes when the signal is cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Completes when the signal is killed.
    pub async fn killed(&self) {
        self.kill.cancelled().await;
    }
}
