//! Development tasks: `cargo xtask ci | test | setup | lint`.
//!
//! - `ci [ARGS...]`: `setup`, then `greenlight run ARGS...` from this checkout (the developer's
//!   pre-push check).
//! - `setup`: installs what the tests need: the pinned Python tools into `target/tools/venv`,
//!   gitleaks (Debian package), and the local Docker base image the fixtures build from.
//! - `test [ARGS...]`: `setup`, then the whole test suite with the real tools required.
//! - `lint`: `cargo fmt --check` and `cargo clippy --all-targets -D warnings`.
//! - `fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/`, N seconds each
//!   (default 10), from the seeds in `fuzz/corpus/`; fails on a crash, naming the reproducer
//!   (`fuzz-repro TARGET FILE` runs it again).
//! - `dist [--profile release|dev] [--out DIR]`: the wheel (maturin, the binary inside) and the
//!   stripped binary in `target/dist/`.
//! - `bench [--reps N] [--advisory-db-only]`: greenlight against the runbook, side by side,
//!   and the offline advisory database's load and query times (`docs/benchmarks.md`).
//!
//! The layout rules are tests (`tidy.rs`), run with the rest of the suite.
#![expect(
    clippy::disallowed_methods,
    reason = "dev tooling runs cargo, pip and apt directly and reads CARGO, PATH and its switches from the environment"
)]
#![expect(clippy::print_stdout, clippy::print_stderr, reason = "dev tooling reports progress")]

mod base_image;
mod bench;
mod dist;
mod fuzz;
mod setup;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "ci" => ci(&rest),
        "setup" => setup::run(&rest),
        "dist" => dist::run(&rest),
        "test" => test(&rest),
        "lint" => lint(),
        "fuzz" => fuzz::run(&rest),
        "fuzz-repro" => fuzz::reproduce(&rest),
        "bench" => bench::run(&rest),
        "__measure" => bench::measure_child(&rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci [ARGS...] | setup | test [ARGS...] | lint | fuzz [--seconds N] [TARGET...] | fuzz-repro TARGET FILE | dist [--profile P] [--out DIR] | bench [--reps N] [--advisory-db-only]>"
            );
            if task.is_empty() || task == "help" || task == "--help" { Ok(()) } else { bail!("unknown task `{task}`") }
        }
    }
}

/// The workspace root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    command.current_dir(project_root());
    command
}

/// Runs `command`, failing with its command line when it fails.
pub fn status(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command.status().with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn ci(args: &[String]) -> Result<()> {
    // The tools the checks run, at the pinned versions (quick when already installed).
    setup::run(&[])?;
    let mut command = cargo();
    command.args(["run", "--quiet", "--package", "greenlight-cli", "--bin", "greenlight", "--", "run"]).args(args);
    // Tools installed by `cargo xtask setup` come first on PATH.
    command.env("PATH", setup::path_with_tools());
    let status = command.status().context("cannot run cargo")?;
    std::process::exit(status.code().unwrap_or(130));
}

fn test(args: &[String]) -> Result<()> {
    setup::run(&[])?;
    // The end-to-end tests run the binary; test runners do not build it for them.
    status(cargo().args(["build", "--package", "greenlight-cli", "--bin", "greenlight"]))?;
    // The wheel of that build, for the tests that install greenlight as users do.
    dist::build("dev", &project_root().join("target").join("dist-dev"))?;
    let nextest = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    let mut command = cargo();
    if nextest {
        command.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        command.args(["test", "--workspace", "--no-fail-fast"]);
    }
    command.args(args).env("PATH", setup::path_with_tools()).env("GREENLIGHT_REQUIRE_TOOLS", "1");
    status(&mut command)?;
    if nextest {
        // nextest does not run doctests.
        status(cargo().args(["test", "--workspace", "--doc", "--quiet"]))?;
    }
    Ok(())
}

fn lint() -> Result<()> {
    status(cargo().args(["fmt", "--all", "--check"]))?;
    status(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}
