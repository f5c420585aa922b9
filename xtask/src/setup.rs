//! `cargo xtask setup`: everything the tests need on a fresh machine.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::{project_root, status};

/// Python tools the tests run, at the versions the recorded outputs and fixtures expect.
pub const PYTHON_TOOLS: &[&str] = &["uv==0.13.9", "ruff==0.17.6", "pytest==9.2.0", "pip-audit==2.10.1", "build==1.6.1"];

/// The directory of the tools venv.
pub fn tools_venv() -> PathBuf {
    project_root().join("target").join("tools").join("venv")
}

/// `PATH` with the tools venv's `bin` first.
pub fn path_with_tools() -> String {
    let bin = tools_venv().join("bin");
    match std::env::var("PATH") {
        Ok(path) if !path.is_empty() => format!("{}:{path}", bin.display()),
        _ => bin.display().to_string(),
    }
}

/// Installs the Python tools (idempotent).
pub fn run(_args: &[String]) -> Result<()> {
    python_tools()?;
    crate::base_image::ensure()?;
    Ok(())
}

fn python_tools() -> Result<()> {
    let venv = tools_venv();
    let stamp = venv.join("greenlight-tools.txt");
    let wanted = PYTHON_TOOLS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|text| text == wanted) {
        return Ok(());
    }
    eprintln!("xtask setup: installing {} into {}", PYTHON_TOOLS.join(" "), venv.display());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    status(Command::new(&python).args(["-m", "venv", "--clear"]).arg(&venv))?;
    status(
        Command::new(venv.join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PYTHON_TOOLS),
    )?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(())
}
