//! `git bisect`-style halving over a list of commits, with untestable commits skipped, for one
//! check or several at once. Pure: the caller runs the checks and records verdicts.
//!
//! The list holds the commits after the good one, oldest first; its last entry is the bad
//! commit (known bad). A check's first bad commit is the first index whose verdict is
//! [`Verdict::Bad`] right after a [`Verdict::Good`] one (or the good commit). Like `git bisect`,
//! it assumes a check stays broken once broken; commits where the check could not decide are
//! [`Verdict::Skip`] and, when only such commits are left, the answer is a set of candidates.

use serde::{Deserialize, Serialize};

/// What a check said at one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The check passed.
    Good,
    /// The check failed.
    Bad,
    /// The check could not decide there (errored, timed out, skipped): untestable.
    Skip,
}

/// Where a bisection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Test this index next.
    Next(usize),
    /// The first bad commit is this index.
    Found(usize),
    /// Only untestable commits are left: the first bad commit is one of these indices (the
    /// skipped ones and the first known bad, in order).
    Ambiguous(Vec<usize>),
}

/// One check's bisection over `len` commits (index `len - 1` is the bad commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bisection {
    verdicts: Vec<Option<Verdict>>,
}

impl Bisection {
    /// A bisection over `len` commits, the last of which is known bad. `len` must be at least 1.
    pub fn new(len: usize) -> Self {
        let mut verdicts = vec![None; len.max(1)];
        if let Some(last) = verdicts.last_mut() {
            *last = Some(Verdict::Bad);
        }
        Self { verdicts }
    }

    /// Records the verdict at `index`.
    pub fn record(&mut self, index: usize, verdict: Verdict) {
        if let Some(slot) = self.verdicts.get_mut(index) {
            *slot = Some(verdict);
        }
    }

    /// The verdict recorded at `index`.
    pub fn verdict(&self, index: usize) -> Option<Verdict> {
        self.verdicts.get(index).copied().flatten()
    }

    /// The open range `(lo, hi)`: `lo` is the last good index before the first bad one (`None`:
    /// the good commit itself), `hi` the first bad index.
    pub fn range(&self) -> (Option<usize>, usize) {
        let hi = self.verdicts.iter().position(|v| *v == Some(Verdict::Bad)).unwrap_or(self.verdicts.len() - 1);
        let lo = self.verdicts[..hi].iter().rposition(|v| *v == Some(Verdict::Good));
        (lo, hi)
    }

    /// Untested indices strictly inside the range.
    pub fn candidates(&self) -> Vec<usize> {
        let (lo, hi) = self.range();
        let start = lo.map_or(0, |lo| lo + 1);
        (start..hi).filter(|index| self.verdicts[*index].is_none()).collect()
    }

    /// True when testing `index` would narrow this bisection.
    pub fn wants(&self, index: usize) -> bool {
        let (lo, hi) = self.range();
        index < hi && lo.is_none_or(|lo| index > lo) && self.verdicts[index].is_none()
    }

    /// What to do next, or the answer.
    pub fn state(&self) -> State {
        let (lo, hi) = self.range();
        let candidates = self.candidates();
        if candidates.is_empty() {
            let start = lo.map_or(0, |lo| lo + 1);
            let skipped: Vec<usize> = (start..hi).collect();
            if skipped.is_empty() {
                return State::Found(hi);
            }
            let mut all = skipped;
            all.push(hi);
            return State::Ambiguous(all);
        }
        // The untested candidate nearest the middle of the range (ties: the older one), so
        // skipped commits move the probe next to them, as `git bisect skip` does.
        let low = lo.map_or(-1.0, |lo| lo as f64);
        let middle = (low + hi as f64) / 2.0;
        let next = candidates
            .iter()
            .copied()
            .min_by(|a, b| {
                let da = (*a as f64 - middle).abs();
                let db = (*b as f64 - middle).abs();
                da.total_cmp(&db).then(a.cmp(b))
            })
            .unwrap_or(hi);
        State::Next(next)
    }

    /// Untested candidates left, for progress messages.
    pub fn remaining(&self) -> usize {
        self.candidates().len()
    }
}

/// Several checks bisected over the same commits: each probe runs every check that still
/// wants that commit, so one run narrows several bisections.
#[derive(Debug, Clone)]
pub struct MultiBisection {
    /// The bisection of each check, by check id, in the order given.
    pub checks: Vec<(String, Bisection)>,
}

impl MultiBisection {
    /// A bisection of `checks` over `len` commits.
    pub fn new(checks: &[String], len: usize) -> Self {
        Self { checks: checks.iter().map(|id| (id.clone(), Bisection::new(len))).collect() }
    }

    /// Records `verdict` for `check` at `index`.
    pub fn record(&mut self, check: &str, index: usize, verdict: Verdict) {
        if let Some((_, bisection)) = self.checks.iter_mut().find(|(id, _)| id == check) {
            bisection.record(index, verdict);
        }
    }

    /// The next commit to test and the checks to run there, or `None` when every bisection
    /// has its answer. The probe is the next index of the check with the most candidates left.
    pub fn next_probe(&self) -> Option<(usize, Vec<String>)> {
        let (_, widest) = self
            .checks
            .iter()
            .filter(|(_, bisection)| matches!(bisection.state(), State::Next(_)))
            .max_by_key(|(_, bisection)| bisection.remaining())?;
        let State::Next(index) = widest.state() else { return None };
        let checks =
            self.checks.iter().filter(|(_, bisection)| bisection.wants(index)).map(|(id, _)| id.clone()).collect();
        Some((index, checks))
    }

    /// The answer of each check (only meaningful once [`MultiBisection::next_probe`] is `None`).
    pub fn answers(&self) -> Vec<(String, State)> {
        self.checks.iter().map(|(id, bisection)| (id.clone(), bisection.state())).collect()
    }

    /// The most probes still needed by any check (log2 of the widest range), for progress.
    pub fn steps_left(&self) -> usize {
        let widest = self.checks.iter().map(|(_, bisection)| bisection.remaining()).max().unwrap_or(0);
        (usize::BITS - widest.leading_zeros()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bisects `len` commits where the check breaks at `first_bad`, with `skips` untestable;
    /// returns the answer and the number of probes.
    fn simulate(len: usize, first_bad: usize, skips: &[usize]) -> (State, usize) {
        let mut bisection = Bisection::new(len);
        let mut probes = 0;
        loop {
            match bisection.state() {
                State::Next(index) => {
                    probes += 1;
                    assert!(probes <= len, "no progress");
                    let verdict = if skips.contains(&index) {
                        Verdict::Skip
                    } else if index >= first_bad {
                        Verdict::Bad
                    } else {
                        Verdict::Good
                    };
                    bisection.record(index, verdict);
                }
                answer => return (answer, probes),
            }
        }
    }

    #[test]
    fn finds_every_first_bad_commit_in_log2_probes() {
        for len in 1..=70 {
            for first_bad in 0..len {
                let (answer, probes) = simulate(len, first_bad, &[]);
                assert_eq!(answer, State::Found(first_bad), "len {len}, first bad {first_bad}");
                let bound = (usize::BITS - len.leading_zeros()) as usize;
                assert!(probes <= bound, "len {len}: {probes} probes > {bound}");
            }
        }
    }

    #[test]
    fn sixty_four_commits_take_six_probes() {
        let (answer, probes) = simulate(64, 17, &[]);
        assert_eq!(answer, State::Found(17));
        assert!(probes <= 6, "{probes}");
    }

    #[test]
    fn first_probe_is_the_middle() {
        assert_eq!(Bisection::new(63).state(), State::Next(30));
        assert_eq!(Bisection::new(1).state(), State::Found(0));
        assert_eq!(Bisection::new(2).state(), State::Next(0));
    }

    #[test]
    fn skipped_commits_are_stepped_around() {
        // Breaks at 10; 5 and 8 untestable: still found exactly.
        let (answer, _) = simulate(20, 10, &[5, 8]);
        assert_eq!(answer, State::Found(10));
        // The commit right before the first bad one untestable: either could be the first.
        let (answer, _) = simulate(20, 10, &[9]);
        assert_eq!(answer, State::Ambiguous(vec![9, 10]));
        // The probe next to a skipped middle is its neighbour.
        let mut bisection = Bisection::new(9);
        assert_eq!(bisection.state(), State::Next(3));
        bisection.record(3, Verdict::Skip);
        assert_eq!(bisection.state(), State::Next(4));
    }

    #[test]
    fn only_skipped_commits_left_is_ambiguous() {
        // Breaks at 6, but 4 and 5 cannot be tested: the first bad one is 4, 5 or 6.
        let (answer, _) = simulate(10, 6, &[4, 5]);
        assert_eq!(answer, State::Ambiguous(vec![4, 5, 6]));
        // Every commit before the bad one untestable.
        let (answer, _) = simulate(3, 2, &[0, 1]);
        assert_eq!(answer, State::Ambiguous(vec![0, 1, 2]));
    }

    #[test]
    fn a_flaky_good_after_bad_does_not_move_the_answer_past_the_first_bad() {
        let mut bisection = Bisection::new(8);
        bisection.record(3, Verdict::Bad);
        bisection.record(5, Verdict::Good); // inconsistent; ignored as it lies past the first bad
        assert_eq!(bisection.range(), (None, 3));
        bisection.record(1, Verdict::Good);
        bisection.record(2, Verdict::Good);
        assert_eq!(bisection.state(), State::Found(3));
    }

    #[test]
    fn several_checks_share_probes() {
        let checks = vec!["ruff-check".to_string(), "pytest".to_string()];
        let first_bad = [("ruff-check", 12usize), ("pytest", 40usize)];
        let mut multi = MultiBisection::new(&checks, 64);
        let mut probes = 0;
        while let Some((index, run)) = multi.next_probe() {
            probes += 1;
            assert!(!run.is_empty());
            for id in run {
                let breaks = first_bad.iter().find(|(check, _)| *check == id).unwrap().1;
                multi.record(&id, index, if index >= breaks { Verdict::Bad } else { Verdict::Good });
            }
        }
        assert_eq!(multi.answers(), vec![("ruff-check".into(), State::Found(12)), ("pytest".into(), State::Found(40))]);
        assert!(probes <= 12, "{probes} probes");
    }

    #[test]
    fn a_probe_runs_only_the_checks_that_want_it() {
        let checks = vec!["a".to_string(), "b".to_string()];
        let mut multi = MultiBisection::new(&checks, 16);
        multi.record("b", 3, Verdict::Bad); // b's range is now (.., 3)
        let (index, run) = multi.next_probe().unwrap();
        assert_eq!(index, 7, "a has the widest range");
        assert_eq!(run, vec!["a".to_string()]);
    }
}
