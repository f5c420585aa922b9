//! The graph of a run: nodes, their needs, which are ready, and which a failed need blocks.
//!
//! Pure data: no I/O, no clock, no async runtime; the dispatcher asks it what may start and
//! tells it what finished.

use std::collections::HashMap;
use std::time::Duration;

use greenlight_report::Outcome;

/// One node waiting to run, with what the graph needs to schedule it and the payload the
/// dispatcher hands the executor.
#[derive(Debug)]
pub struct GraphNode<T> {
    /// The node's id (a check id, or `environment`).
    pub id: String,
    /// Ids of nodes that must pass first.
    pub needs: Vec<String>,
    /// Its expected duration: the longest start first.
    pub expected: Duration,
    /// True when it takes one of the `--jobs` slots while it runs.
    pub cpu_bound: bool,
    /// What to run.
    pub payload: T,
}

/// A node that will not run because a node it needs did not pass.
#[derive(Debug)]
pub struct Blocked<T> {
    /// The node.
    pub node: GraphNode<T>,
    /// The need that did not pass.
    pub need: String,
    /// Its outcome.
    pub outcome: Outcome,
}

/// The nodes not started yet and the outcome of every node that finished.
#[derive(Debug)]
pub struct Graph<T> {
    pending: Vec<GraphNode<T>>,
    outcomes: HashMap<String, Outcome>,
}

impl<T> Graph<T> {
    /// A graph of `nodes`; `finished` are outcomes known before the run (checks skipped by the
    /// plan).
    pub fn new(nodes: Vec<GraphNode<T>>, finished: impl IntoIterator<Item = (String, Outcome)>) -> Self {
        let mut graph = Self { pending: nodes, outcomes: finished.into_iter().collect() };
        graph.pending.sort_by(|a, b| b.expected.cmp(&a.expected).then_with(|| a.id.cmp(&b.id)));
        graph
    }

    /// Records that `id` finished with `outcome`.
    pub fn record(&mut self, id: &str, outcome: Outcome) {
        self.outcomes.insert(id.to_string(), outcome);
    }

    /// Removes the nodes a need blocks: a need that finished without passing blocks its
    /// dependents, and through them theirs (each is recorded as skipped).
    pub fn take_blocked(&mut self) -> Vec<Blocked<T>> {
        let mut blocked = Vec::new();
        loop {
            let found =
                self.pending.iter().enumerate().find_map(|(index, node)| Some((index, self.failed_need(node)?)));
            let Some((index, (need, outcome))) = found else {
                return blocked;
            };
            let node = self.pending.remove(index);
            self.outcomes.insert(node.id.clone(), Outcome::Skipped);
            blocked.push(Blocked { node, need, outcome });
        }
    }

    /// Removes and returns the nodes that may start now, longest expected first: those whose
    /// needs all passed, with at most `cpu_slots` CPU-bound ones.
    pub fn take_ready(&mut self, mut cpu_slots: usize) -> Vec<GraphNode<T>> {
        let mut ready = Vec::new();
        let mut index = 0;
        while index < self.pending.len() {
            let node = &self.pending[index];
            let needs_passed = node.needs.iter().all(|need| self.outcomes.get(need).is_some_and(|o| o.is_success()));
            if needs_passed && (!node.cpu_bound || cpu_slots > 0) {
                if node.cpu_bound {
                    cpu_slots -= 1;
                }
                ready.push(self.pending.remove(index));
            } else {
                index += 1;
            }
        }
        ready
    }

    /// True when no node is waiting.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    /// Removes every node still waiting (the run stopped, or their needs never finished).
    pub fn drain(&mut self) -> Vec<GraphNode<T>> {
        std::mem::take(&mut self.pending)
    }

    fn failed_need(&self, node: &GraphNode<T>) -> Option<(String, Outcome)> {
        node.needs.iter().find_map(|need| match self.outcomes.get(need) {
            Some(outcome) if !outcome.is_success() => Some((need.clone(), *outcome)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, needs: &[&str], expected_ms: u64, cpu_bound: bool) -> GraphNode<()> {
        GraphNode {
            id: id.to_string(),
            needs: needs.iter().map(|need| need.to_string()).collect(),
            expected: Duration::from_millis(expected_ms),
            cpu_bound,
            payload: (),
        }
    }

    fn ids<T>(nodes: &[GraphNode<T>]) -> Vec<&str> {
        nodes.iter().map(|node| node.id.as_str()).collect()
    }

    #[test]
    fn longest_first_within_the_cpu_slots() {
        let mut graph = Graph::new(
            vec![node("ruff", &[], 100, true), node("pytest", &[], 9000, true), node("audit", &[], 50, false)],
            [],
        );
        let first = graph.take_ready(1);
        assert_eq!(ids(&first), ["pytest", "audit"], "one CPU slot; the waiting check beside it");
        assert!(graph.take_ready(0).is_empty());
        assert_eq!(ids(&graph.take_ready(1)), ["ruff"]);
        assert!(graph.is_done());
    }

    #[test]
    fn a_node_waits_for_its_needs_to_pass() {
        let mut graph =
            Graph::new(vec![node("pytest", &["environment"], 10, true), node("environment", &[], 10, false)], []);
        assert_eq!(ids(&graph.take_ready(4)), ["environment"]);
        assert!(graph.take_ready(4).is_empty(), "environment has not finished");
        graph.record("environment", Outcome::Passed);
        assert!(graph.take_blocked().is_empty());
        assert_eq!(ids(&graph.take_ready(4)), ["pytest"]);
    }

    #[test]
    fn a_failed_need_skips_its_dependents_transitively() {
        let mut graph = Graph::new(
            vec![
                node("deploy", &["pytest"], 10, true),
                node("pytest", &["environment"], 10, true),
                node("ruff", &[], 1, true),
            ],
            [("environment".to_string(), Outcome::Errored)],
        );
        let blocked = graph.take_blocked();
        let why: Vec<(&str, &str, Outcome)> =
            blocked.iter().map(|b| (b.node.id.as_str(), b.need.as_str(), b.outcome)).collect();
        assert_eq!(why, [("pytest", "environment", Outcome::Errored), ("deploy", "pytest", Outcome::Skipped)]);
        assert_eq!(ids(&graph.take_ready(4)), ["ruff"]);
        assert!(graph.is_done());
    }

    #[test]
    fn a_skipped_check_blocks_what_needs_it() {
        let mut graph = Graph::new(vec![node("b", &["a"], 10, true)], [("a".to_string(), Outcome::Skipped)]);
        assert_eq!(graph.take_blocked().len(), 1);
    }

    #[test]
    fn drain_returns_what_never_started() {
        let mut graph = Graph::new(vec![node("a", &[], 10, true), node("b", &["a"], 10, true)], []);
        assert_eq!(ids(&graph.take_ready(1)), ["a"]);
        assert_eq!(ids(&graph.drain()), ["b"]);
        assert!(graph.is_done());
    }
}
