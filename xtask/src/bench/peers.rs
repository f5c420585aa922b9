//! The tools users would pick instead, from PyPI (`prek` and `lefthook` in
//! [`crate::setup::PYTHON_TOOLS`]), running the same tools as greenlight's fast set — ruff
//! check, ruff format --check and pytest in the warm environment — on the bench fixture, each
//! as parallel as it can be configured (prek: one `priority` for every hook; lefthook:
//! `parallel: true`), side by side with greenlight warm in the same run.

use std::path::Path;
use std::process::Command;

use super::{CREATE_VENV, MakeCommand, Prep, Prepare, Scenario, runbook_command};
use crate::status;

/// The checks every peer runs.
pub(super) const CHECKS: [&str; 3] = ["ruff-check", "ruff-format", "pytest"];

/// The name of greenlight's scenario on the same checks.
pub(super) const GREENLIGHT: &str = "greenlight warm: ruff + pytest";
/// The prek scenario.
pub(super) const PREK: &str = "prek 0.5.11 warm: ruff + pytest";
/// The lefthook scenario.
pub(super) const LEFTHOOK: &str = "lefthook 2.2.2 warm: ruff + pytest";

/// `.pre-commit-config.yaml`: local system hooks that run on the whole project, all at one
/// priority so prek runs them concurrently.
fn prek_config() -> String {
    let mut text = String::from("repos:\n  - repo: local\n    hooks:\n");
    for check in CHECKS {
        let command = runbook_command(check).expect("a runbook command for each peer check");
        text.push_str(&format!(
            "      - id: {check}\n        name: {check}\n        entry: bash -c \"{command}\"\n        language: system\n        pass_filenames: false\n        always_run: true\n        priority: 0\n"
        ));
    }
    text
}

/// `lefthook.yml`: one parallel hook with a command per check.
fn lefthook_config() -> String {
    let mut text = String::from("pre-commit:\n  parallel: true\n  commands:\n");
    for check in CHECKS {
        let command = runbook_command(check).expect("a runbook command for each peer check");
        text.push_str(&format!("    {check}:\n      run: {command}\n"));
    }
    text
}

/// The warm environment and the peer's configuration, committed (prek reads the committed
/// configuration).
fn prepare(file: &'static str, config: fn() -> String) -> Prepare {
    Box::new(move |dir: &Path| {
        status(Command::new("bash").args(["-c", CREATE_VENV]).current_dir(dir))?;
        std::fs::write(dir.join(file), config())?;
        status(Command::new("git").args(["add", file]).current_dir(dir))?;
        status(
            Command::new("git")
                .args(["-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", file])
                .current_dir(dir),
        )
    })
}

fn command(program: &'static str, args: &'static [&'static str]) -> MakeCommand {
    Box::new(move |dir: &Path| {
        let mut command = Command::new(program);
        command.args(args).current_dir(dir);
        command
    })
}

/// prek and lefthook; greenlight's own scenario on the same checks is made by the caller.
pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: PREK,
            prep: Prep::Warm,
            command: command("prek", &["run", "--all-files", "-q"]),
            setup: prepare(".pre-commit-config.yaml", prek_config),
            group: "peers",
        },
        Scenario {
            name: LEFTHOOK,
            prep: Prep::Warm,
            command: command("lefthook", &["run", "pre-commit", "--all-files", "--no-tty"]),
            setup: prepare("lefthook.yml", lefthook_config),
            group: "peers",
        },
    ]
}
