//! The bisect scenario: a generated 15-commit history on the bench fixture in which a test
//! starts failing at the 10th commit, bisected over pytest by `greenlight bisect` and by
//! `git bisect run` with a fresh venv per step (what a person scripts), each on a fresh copy.

use std::path::Path;
use std::process::Command;

use super::{MakeCommand, Prep, Prepare, Scenario};
use crate::status;

/// Commits after the fixture's own.
const COMMITS: usize = 15;
/// The commit (1-based) whose test fails from then on.
const FIRST_BAD: usize = 10;

/// greenlight's scenario.
pub(super) const GREENLIGHT: &str = "greenlight bisect over pytest (15 commits)";
/// The by-hand scenario.
pub(super) const BY_HAND: &str = "git bisect run, fresh venv per step (15 commits)";

/// One test module per commit; the `FIRST_BAD`th fails. The fixture's commit is tagged `good`,
/// the last `bad`.
fn history() -> Prepare {
    Box::new(|dir: &Path| {
        let git = |args: &[&str]| {
            status(
                Command::new("git")
                    .args(["-c", "user.name=Bench", "-c", "user.email=bench@example.com"])
                    .args(args)
                    .current_dir(dir)
                    .stdout(std::process::Stdio::null()),
            )
        };
        git(&["tag", "good"])?;
        for step in 1..=COMMITS {
            let assertion = if step == FIRST_BAD { "assert sum([1, 1]) == 3" } else { "assert sum([1, 1]) == 2" };
            std::fs::write(
                dir.join(format!("tests/test_step_{step:02}.py")),
                format!("def test_step_{step:02}():\n    {assertion}\n"),
            )?;
            git(&["add", "-A"])?;
            git(&["commit", "-q", "-m", &format!("step {step}")])?;
        }
        git(&["tag", "bad"])
    })
}

/// `git bisect run` with a new environment at each step, as by hand with uv.
const BY_HAND_SCRIPT: &str = "git bisect start bad good >/dev/null && git bisect run bash -c 'rm -rf .venv && uv venv -q .venv && uv pip install -q --python .venv/bin/python -e \".[dev]\" >/dev/null 2>&1 && .venv/bin/pytest -q -p no:cacheprovider >/dev/null 2>&1' >/dev/null; git bisect reset >/dev/null 2>&1";

/// Both scenarios; `greenlight` builds greenlight's command from its arguments.
pub(super) fn scenarios(greenlight: MakeCommand) -> Vec<Scenario> {
    let by_hand: MakeCommand = Box::new(|dir: &Path| {
        let mut command = Command::new("bash");
        command.args(["-c", BY_HAND_SCRIPT]).current_dir(dir);
        command
    });
    vec![
        Scenario { name: GREENLIGHT, prep: Prep::Fresh, command: greenlight, setup: history(), group: "bisect" },
        Scenario { name: BY_HAND, prep: Prep::Fresh, command: by_hand, setup: history(), group: "bisect" },
    ]
}
