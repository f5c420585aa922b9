//! The dispatcher: owns the state of a run — the graph, the `--jobs` slots, the running
//! nodes, why the run stops — starts nodes longest first while slots allow, and settles every
//! node's final outcome. It is the one place that decides what a stop means for an outcome
//! ([`settle`], [`not_started`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use greenlight_process::Stop;
use greenlight_report::{CancelReason, CheckReport, NodeKind, Outcome, SkipCause};
use tokio::task::JoinSet;

use super::events::{InternalEvent, Observer, RunEvent};
use super::executor::{self, Executed, Node, Shared};
use super::graph::{Blocked, Graph, GraphNode};
use crate::history::History;

/// The limits and stop conditions of a run.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// CPU-bound nodes at once (`--jobs`).
    pub jobs: usize,
    /// Stop at the first node that does not pass.
    pub fail_fast: bool,
    /// The whole run's timeout.
    pub deadline: Option<Duration>,
}

/// A node that is running.
struct Running {
    id: String,
    title: String,
    kind: NodeKind,
    cpu_bound: bool,
    started: Instant,
}

/// The state of one run.
pub(super) struct Dispatcher {
    graph: Graph<Node>,
    limits: Limits,
    observer: Arc<dyn Observer>,
    history: History,
    running: HashMap<tokio::task::Id, Running>,
    cpu_running: usize,
    /// Why the run is stopping; the first cause wins.
    cause: Option<CancelReason>,
    finished: Vec<CheckReport>,
}

impl Dispatcher {
    /// A dispatcher for `nodes`; `settled` are the reports of nodes the plan already decided
    /// (skipped checks).
    pub fn new(
        nodes: Vec<GraphNode<Node>>,
        settled: Vec<CheckReport>,
        limits: Limits,
        observer: Arc<dyn Observer>,
        history: History,
    ) -> Self {
        for report in &settled {
            observer.on_event(RunEvent::Finished(report));
        }
        let graph = Graph::new(nodes, settled.iter().map(|report| (report.id.clone(), report.outcome)));
        Self {
            graph,
            limits,
            observer,
            history,
            running: HashMap::new(),
            cpu_running: 0,
            cause: None,
            finished: settled,
        }
    }

    /// Runs every node and returns their reports and the updated history. `stop` is the
    /// user's (Ctrl-C); `run_stop`, its child, also fires on fail-fast and the deadline.
    pub async fn run(mut self, shared: Arc<Shared>, stop: &Stop) -> (Vec<CheckReport>, History) {
        let run_stop = stop.child();
        let mut tasks: JoinSet<Executed> = JoinSet::new();
        let deadline = self.limits.deadline;
        let deadline_sleep = async move {
            match deadline {
                Some(deadline) => tokio::time::sleep(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline_sleep);
        loop {
            if self.cause.is_none() {
                self.start_ready(&mut tasks, &shared, &run_stop);
            }
            if tasks.is_empty() {
                break;
            }
            let event = tokio::select! {
                joined = tasks.join_next_with_id() => match joined {
                    Some(Ok((task, executed))) => InternalEvent::Executed { task, executed: Box::new(executed) },
                    Some(Err(error)) => {
                        let task = error.id();
                        let message = if error.is_panic() { panic_message(error.into_panic()) } else { "aborted".to_string() };
                        InternalEvent::Panicked { task, message }
                    }
                    None => continue,
                },
                () = stop.cancelled(), if self.cause.is_none() => InternalEvent::Interrupted,
                () = &mut deadline_sleep, if self.cause.is_none() => InternalEvent::Deadline,
            };
            if self.handle(event) {
                run_stop.cancel();
            }
        }
        for node in self.graph.drain() {
            let report = not_started(node.payload, self.cause, self.limits.deadline);
            self.observer.on_event(RunEvent::Finished(&report));
            self.finished.push(report);
        }
        (self.finished, self.history)
    }

    /// Settles the nodes a failed need blocks, then starts what is ready while slots allow.
    fn start_ready(&mut self, tasks: &mut JoinSet<Executed>, shared: &Arc<Shared>, run_stop: &Stop) {
        for Blocked { node, need, outcome } in self.graph.take_blocked() {
            let why = self.finished.iter().find(|r| r.id == need).map(|r| r.summary.clone()).unwrap_or_default();
            let mut report = CheckReport::new(&node.id, &node.payload.title, Outcome::Skipped);
            report.kind = node.payload.kind;
            report.reason = Some(format!(
                "needs `{need}`, which {outcome}{}",
                if why.is_empty() { String::new() } else { format!(": {why}") }
            ));
            report.summary = format!("skipped: `{need}` {outcome}");
            report.skip_cause = Some(SkipCause::NeedFailed { need, outcome });
            self.finish(report);
        }
        for node in self.graph.take_ready(self.limits.jobs.saturating_sub(self.cpu_running)) {
            let payload = node.payload;
            let progress = match &payload.task {
                executor::NodeTask::Check { checker, .. } => checker.info().progress,
                _ => None,
            };
            let log = executor::log_path(&shared.log_dir, &payload.id);
            self.observer.on_event(RunEvent::Started { id: &payload.id, title: &payload.title, log: &log, progress });
            let running = Running {
                id: payload.id.clone(),
                title: payload.title.clone(),
                kind: payload.kind,
                cpu_bound: node.cpu_bound,
                started: Instant::now(),
            };
            if node.cpu_bound {
                self.cpu_running += 1;
            }
            let handle = tasks.spawn(executor::execute(payload, shared.clone(), run_stop.child()));
            self.running.insert(handle.id(), running);
        }
    }

    /// Handles one event; true when the running nodes must be stopped now.
    fn handle(&mut self, event: InternalEvent) -> bool {
        match event {
            InternalEvent::Executed { task, executed } => {
                let Executed { mut report, timed_out, stopped } = *executed;
                self.release(task);
                settle(&mut report, timed_out, stopped, self.cause, self.limits.deadline);
                self.record_finished(report)
            }
            InternalEvent::Panicked { task, message } => {
                let Some(running) = self.running.get(&task) else { return false };
                let mut report = CheckReport::new(&running.id, &running.title, Outcome::Errored);
                report.kind = running.kind;
                report.duration_ms = u64::try_from(running.started.elapsed().as_millis()).unwrap_or(u64::MAX);
                report.summary = "the checker panicked".to_string();
                report.reason = Some(format!(
                    "the checker panicked: {message} (a bug in greenlight; please report it with the log)"
                ));
                self.release(task);
                settle(&mut report, None, false, self.cause, self.limits.deadline);
                self.record_finished(report)
            }
            InternalEvent::Interrupted => {
                // The user's stop is the parent of every node's: they are stopping already.
                self.stopping(CancelReason::Interrupted);
                false
            }
            InternalEvent::Deadline => {
                self.stopping(CancelReason::Deadline);
                true
            }
        }
    }

    /// Records a finished node; true when fail-fast now stops the run.
    fn record_finished(&mut self, report: CheckReport) -> bool {
        if report.kind == NodeKind::Check && !report.cached {
            self.history.record(&report.id, report.duration_ms);
        }
        let stop_now = self.limits.fail_fast
            && self.cause.is_none()
            && matches!(report.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut);
        self.finish(report);
        if stop_now {
            self.stopping(CancelReason::FailFast);
        }
        stop_now
    }

    fn finish(&mut self, report: CheckReport) {
        self.observer.on_event(RunEvent::Finished(&report));
        self.graph.record(&report.id, report.outcome);
        self.finished.push(report);
    }

    fn stopping(&mut self, reason: CancelReason) {
        self.cause = Some(reason);
        self.observer.on_event(RunEvent::Stopping(reason));
    }

    /// Frees the slot of the node running as `task`.
    fn release(&mut self, task: tokio::task::Id) {
        if self.running.remove(&task).is_some_and(|running| running.cpu_bound) {
            self.cpu_running -= 1;
        }
    }
}

/// The final outcome of a node that ran: a node its own timeout stopped is `timed_out`; one
/// the run stopped (`cause`) is `cancelled`, or `timed_out` at the run's deadline, unless it
/// reached a verdict of its own (passed, failed, skipped) first.
pub(super) fn settle(
    report: &mut CheckReport,
    timed_out: Option<Duration>,
    stopped: bool,
    cause: Option<CancelReason>,
    deadline: Option<Duration>,
) {
    if let Some(timeout) = timed_out {
        let timeout = humantime::format_duration(timeout);
        report.outcome = Outcome::TimedOut;
        report.summary = format!("timed out after {timeout}");
        report.reason = Some(format!(
            "`{}` ran longer than its timeout of {timeout} and was stopped with everything it started; raise it with [tool.greenlight.{}] timeout = \"...\"",
            report.id, report.id
        ));
    } else if stopped && matches!(report.outcome, Outcome::Errored | Outcome::Cancelled) {
        // What a stopped check says about itself (a killed tool, a cut-off output) is no verdict.
        report.outcome = Outcome::Cancelled;
        report.summary = "cancelled".to_string();
        report.reason = None;
    }
    let Some(cause) = cause else { return };
    if !matches!(report.outcome, Outcome::Cancelled | Outcome::Errored | Outcome::TimedOut) {
        return; // It finished with a verdict of its own.
    }
    match cause {
        CancelReason::Deadline => {
            report.outcome = Outcome::TimedOut;
            report.summary = "timed out".to_string();
            report.reason = Some(format!(
                "stopped when the run's timeout of {} elapsed; raise --timeout or [tool.greenlight] timeout",
                humantime::format_duration(deadline.unwrap_or_default())
            ));
            report.cancel_reason = Some(cause);
        }
        // Its own timeout stopped it first.
        CancelReason::FailFast | CancelReason::Interrupted if report.outcome == Outcome::TimedOut => {}
        CancelReason::FailFast | CancelReason::Interrupted => {
            report.outcome = Outcome::Cancelled;
            report.summary = "cancelled".to_string();
            report.reason = Some(if cause == CancelReason::Interrupted {
                "stopped: the run was interrupted".to_string()
            } else {
                "stopped: --fail-fast stopped the run after another check did not pass".to_string()
            });
            report.cancel_reason = Some(cause);
        }
    }
}

/// The report of a node that never started because the run stopped (`cause`).
pub(super) fn not_started(node: Node, cause: Option<CancelReason>, deadline: Option<Duration>) -> CheckReport {
    let cause = cause.unwrap_or(CancelReason::Interrupted);
    let mut report = CheckReport::new(&node.id, &node.title, Outcome::Cancelled);
    report.kind = node.kind;
    report.summary = "not started".to_string();
    report.cancel_reason = Some(cause);
    report.reason = Some(match cause {
        CancelReason::FailFast => "not started: --fail-fast stopped the run after a check did not pass".to_string(),
        CancelReason::Deadline => format!(
            "not started: the run's timeout of {} elapsed",
            humantime::format_duration(deadline.unwrap_or_default())
        ),
        CancelReason::Interrupted => "not started: the run was interrupted".to_string(),
    });
    report
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcome: Outcome) -> CheckReport {
        CheckReport::new("pytest", "pytest", outcome)
    }

    #[test]
    fn a_verdict_survives_a_stopping_run() {
        for outcome in [Outcome::Passed, Outcome::Failed, Outcome::Skipped] {
            let mut check = report(outcome);
            settle(&mut check, None, true, Some(CancelReason::FailFast), None);
            assert_eq!((check.outcome, check.cancel_reason), (outcome, None));
        }
    }

    #[test]
    fn a_stopped_check_is_cancelled_with_the_runs_reason() {
        let mut check = report(Outcome::Errored);
        settle(&mut check, None, true, Some(CancelReason::Interrupted), None);
        assert_eq!((check.outcome, check.cancel_reason), (Outcome::Cancelled, Some(CancelReason::Interrupted)));
        assert_eq!(check.reason.as_deref(), Some("stopped: the run was interrupted"));
    }

    #[test]
    fn its_own_timeout_is_timed_out_and_the_deadline_wins_over_it() {
        let mut check = report(Outcome::Errored);
        settle(&mut check, Some(Duration::from_secs(2)), true, Some(CancelReason::FailFast), None);
        assert_eq!((check.outcome, check.cancel_reason), (Outcome::TimedOut, None));
        assert!(check.reason.as_deref().unwrap().contains("[tool.greenlight.pytest] timeout"));
        let mut check = report(Outcome::Errored);
        settle(
            &mut check,
            Some(Duration::from_secs(2)),
            true,
            Some(CancelReason::Deadline),
            Some(Duration::from_secs(1)),
        );
        assert_eq!((check.outcome, check.cancel_reason), (Outcome::TimedOut, Some(CancelReason::Deadline)));
        assert!(check.reason.as_deref().unwrap().contains("run's timeout of 1s"));
    }

    #[test]
    fn an_error_of_its_own_is_kept_when_nothing_stopped_it() {
        let mut check = report(Outcome::Errored);
        check.reason = Some("ruff is missing".into());
        settle(&mut check, None, false, None, None);
        assert_eq!((check.outcome, check.reason.as_deref()), (Outcome::Errored, Some("ruff is missing")));
    }
}
