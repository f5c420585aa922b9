//! `cargo xtask dist`: the wheel that carries the `greenlight` binary (maturin, `bindings =
//! "bin"`, configured in `crates/greenlight-cli/pyproject.toml`) and the stripped binary, in
//! `target/dist/`.
//!
//! `--profile dev --out DIR` packages the development build instead (what the container tests
//! install: it reuses the binary `cargo build` made, in seconds).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{project_root, status};

/// What `dist` made.
#[derive(Debug)]
pub struct Dist {
    /// The wheel.
    pub wheel: PathBuf,
    /// The binary beside it (release profile only).
    pub binary: Option<PathBuf>,
}

/// Parses `[--profile release|dev] [--out DIR]` and builds.
pub fn run(args: &[String]) -> Result<()> {
    let mut profile = "release".to_string();
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => profile = args.next().context("--profile needs a value")?.clone(),
            "--out" => out = Some(PathBuf::from(args.next().context("--out needs a value")?)),
            other => bail!("unknown argument `{other}`; usage: cargo xtask dist [--profile release|dev] [--out DIR]"),
        }
    }
    let out = out.unwrap_or_else(|| project_root().join("target").join("dist"));
    let dist = build(&profile, &out)?;
    let size = |path: &Path| std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
    println!("wheel:  {} ({:.1} MiB)", dist.wheel.display(), mib(size(&dist.wheel)));
    if let Some(binary) = &dist.binary {
        println!("binary: {} ({:.1} MiB)", binary.display(), mib(size(binary)));
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Builds the wheel with `profile` into `out` (replacing earlier wheels there); with the
/// release profile, copies the binary beside it as `greenlight-<version>-<os>-<arch>`.
pub fn build(profile: &str, out: &Path) -> Result<Dist> {
    crate::setup::python_tools()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for entry in std::fs::read_dir(out)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("greenlight_ci-") && name.ends_with(".whl") || name.starts_with("greenlight-") {
            std::fs::remove_file(entry.path())?;
        }
    }
    let root = project_root();
    let maturin = crate::setup::tools_venv().join("bin").join("maturin");
    status(
        Command::new(&maturin)
            .args(["build", "--quiet", "--profile", profile, "--manifest-path"])
            .arg(root.join("crates/greenlight-cli/Cargo.toml"))
            .arg("--out")
            .arg(out)
            .current_dir(&root),
    )?;
    let wheel = std::fs::read_dir(out)?
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|name| name.to_string_lossy().ends_with(".whl")))
        .with_context(|| format!("maturin made no wheel in {}", out.display()))?;
    let binary = if profile == "release" {
        let built = root.join("target/release/greenlight");
        let version = env!("CARGO_PKG_VERSION");
        let binary = out.join(format!("greenlight-{version}-{}-{}", std::env::consts::OS, std::env::consts::ARCH));
        std::fs::copy(&built, &binary).with_context(|| format!("cannot copy {}", built.display()))?;
        Some(binary)
    } else {
        None
    };
    Ok(Dist { wheel, binary })
}
