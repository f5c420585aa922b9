//! `cargo xtask fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/` (the
//! configuration loader and every parser of tool output and of saved reports), each run for N
//! seconds (default 10) from its committed seed corpus, `fuzz/corpus/<target>/`.
//!
//! cargo-fuzz (pinned) is installed into `target/tools/cargo-fuzz` when missing. libFuzzer's
//! instrumentation needs nightly flags; `RUSTC_BOOTSTRAP=1` allows them on the stable
//! toolchain. No sanitizer: the code under test has no `unsafe`, and a panic is what is looked
//! for. What a run adds to the corpus goes to `target/fuzz/corpus/<target>/`, never into the
//! checkout; a crash fails the task and names its reproducer.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{project_root, status};

/// The cargo-fuzz release `cargo xtask fuzz` installs.
const CARGO_FUZZ_VERSION: &str = "0.13.1";

/// Longest input libFuzzer makes (bytes): past the seeds' size, so that it can grow them.
const MAX_LEN: &str = "65536";

/// An input that takes longer than this (seconds) is reported as a hang.
const INPUT_TIMEOUT: &str = "10";

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds: u64 = 10;
    let mut only = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value.parse().with_context(|| format!("--seconds {value}: not a number of seconds"))?;
            }
            target if !target.starts_with('-') => only.push(target.to_string()),
            other => bail!("unknown argument `{other}`; usage: cargo xtask fuzz [--seconds N] [TARGET...]"),
        }
    }
    let cargo_fuzz = install()?;
    let fuzz_dir = project_root().join("fuzz");
    let work = project_root().join("target").join("fuzz");
    let targets = targets(&fuzz_dir)?;
    for name in &only {
        if !targets.contains(name) {
            bail!("no fuzz target `{name}`; the targets are {}", targets.join(", "));
        }
    }
    let selected: Vec<&String> = targets.iter().filter(|name| only.is_empty() || only.contains(name)).collect();
    let command = |args: &[&str]| {
        let mut command = Command::new(&cargo_fuzz);
        command.arg("fuzz").args(args).current_dir(&fuzz_dir);
        command.env("RUSTC_BOOTSTRAP", "1").env("CARGO_TARGET_DIR", &work).env("CARGO_INCREMENTAL", "0");
        command
    };
    // One build for every target, then the runs.
    status(&mut command(&["build", "--sanitizer", "none"]))?;
    let mut crashed = Vec::new();
    for name in selected {
        let corpus = work.join("corpus").join(name);
        let artifacts = work.join("artifacts").join(name);
        // Only this run's reproducers are named.
        if artifacts.exists() {
            std::fs::remove_dir_all(&artifacts).with_context(|| format!("cannot empty {}", artifacts.display()))?;
        }
        for dir in [&corpus, &artifacts] {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let seeds = fuzz_dir.join("corpus").join(name);
        println!("fuzz: {name} for {seconds} s");
        let mut run = command(&["run", "--sanitizer", "none", name]);
        // The first directory receives new inputs; the seeds are only read.
        run.arg(&corpus).arg(&seeds).arg("--").args([
            format!("-max_total_time={seconds}"),
            format!("-max_len={MAX_LEN}"),
            format!("-timeout={INPUT_TIMEOUT}"),
            "-rss_limit_mb=2048".to_string(),
            format!("-artifact_prefix={}/", artifacts.display()),
            "-print_final_stats=1".to_string(),
        ]);
        if !run.status().with_context(|| format!("cannot run cargo fuzz for {name}"))?.success() {
            let reproducers = artifacts_in(&artifacts);
            for path in &reproducers {
                eprintln!("fuzz: {name} crashed; reproduce with `cargo xtask fuzz-repro {name} {}`", path.display());
            }
            crashed.push((name.clone(), reproducers));
        }
    }
    if !crashed.is_empty() {
        let lines: Vec<String> = crashed
            .iter()
            .map(|(name, paths)| {
                let paths: Vec<String> = paths.iter().map(|path| path.display().to_string()).collect();
                format!(
                    "{name}: {}",
                    if paths.is_empty() { "no reproducer written".to_string() } else { paths.join(", ") }
                )
            })
            .collect();
        bail!("fuzz targets failed:\n  {}", lines.join("\n  "));
    }
    Ok(())
}

/// `cargo xtask fuzz-repro TARGET FILE`: runs one target on one input (a reproducer), with
/// the panic's message and backtrace.
pub fn reproduce(args: &[String]) -> Result<()> {
    let [name, file] = args else { bail!("usage: cargo xtask fuzz-repro TARGET FILE") };
    let cargo_fuzz = install()?;
    let file = std::fs::canonicalize(file).with_context(|| format!("no reproducer {file}"))?;
    let mut command = Command::new(&cargo_fuzz);
    command.args(["fuzz", "run", "--sanitizer", "none", name]).arg(file).current_dir(project_root().join("fuzz"));
    command.env("RUSTC_BOOTSTRAP", "1").env("CARGO_TARGET_DIR", project_root().join("target").join("fuzz"));
    command.env("RUST_BACKTRACE", "1");
    status(&mut command)
}

/// The targets `fuzz/Cargo.toml` declares, from `fuzz/fuzz_targets/*.rs`.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "rs")
            && let Some(stem) = path.file_stem()
        {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The pinned cargo-fuzz, installed into `target/tools/cargo-fuzz` unless it is there.
fn install() -> Result<PathBuf> {
    let root = project_root().join("target").join("tools").join("cargo-fuzz");
    let binary = root.join("bin").join("cargo-fuzz");
    let installed = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(CARGO_FUZZ_VERSION));
    if !installed {
        println!("fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION}");
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
        command.args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION, "--root"]).arg(&root);
        command.env("CARGO_TARGET_DIR", project_root().join("target").join("cargo-fuzz-build"));
        status(&mut command)?;
    }
    Ok(binary)
}

/// The inputs libFuzzer wrote into `dir` (`crash-`, `timeout-`, `oom-`), sorted.
fn artifacts_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|entry| Some(entry.ok()?.path())).collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest seed committed (bytes): seeds are small, libFuzzer grows them.
    const MAX_SEED: u64 = 16 * 1024;

    /// Every target is declared in `fuzz/Cargo.toml` and has seeds, all of them small; every
    /// seed directory belongs to a target.
    #[test]
    fn every_fuzz_target_is_declared_and_seeded() {
        let fuzz_dir = project_root().join("fuzz");
        let manifest = std::fs::read_to_string(fuzz_dir.join("Cargo.toml")).unwrap();
        let targets = targets(&fuzz_dir).unwrap();
        assert!(!targets.is_empty());
        let mut problems = Vec::new();
        for name in &targets {
            let declared = format!("[[bin]]\nname = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"");
            if !manifest.contains(&declared) {
                problems.push(format!("{name}: no [[bin]] in fuzz/Cargo.toml"));
            }
            let seeds: Vec<_> = std::fs::read_dir(fuzz_dir.join("corpus").join(name))
                .map(|entries| entries.filter_map(Result::ok).collect())
                .unwrap_or_default();
            if seeds.is_empty() {
                problems.push(format!("{name}: no seeds in fuzz/corpus/{name}/"));
            }
            for seed in seeds {
                let size = seed.metadata().unwrap().len();
                if size > MAX_SEED {
                    problems.push(format!("{}: {size} bytes, over {MAX_SEED}", seed.path().display()));
                }
            }
        }
        for entry in std::fs::read_dir(fuzz_dir.join("corpus")).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if !targets.contains(&name) {
                problems.push(format!("fuzz/corpus/{name}/: no target of that name"));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
