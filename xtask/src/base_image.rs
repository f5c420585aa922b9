//! The local Docker base image the Docker fixtures build from.
//!
//! No registry is reachable from the machines the tests run on, so `FROM python:3.11-slim`
//! cannot be pulled. The fixtures name their base with `ARG BASE_IMAGE`, and the tests pass
//! this image: a minimal Debian bookworm with `python3` (and `python`), made with debootstrap
//! from Debian's packages and imported into the engine. It has no pip: the fixtures copy their
//! code instead of installing it.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::{project_root, status};

/// The image's name (the tests use the same).
pub const BASE_IMAGE: &str = "greenlight-test/python:3.11-bookworm";

/// A runner with Python and nothing else for the CI recipes' end-to-end tests: the base image's
/// packages plus pip, venv, git and CA certificates (what a `python:3.11` image or a CI runner
/// with Python has), without the marker that keeps pip out of Debian's own Python.
pub const RUNNER_IMAGE: &str = "greenlight-test/python-pip:3.11-bookworm";

/// True when the run must have Docker (CI sets `GREENLIGHT_REQUIRE_DOCKER=1`).
fn docker_required() -> bool {
    std::env::var("GREENLIGHT_REQUIRE_DOCKER").is_ok_and(|value| value == "1")
}

fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|output| output.status.success())
}

/// Builds the base image once, when it is missing. Without an engine: an error when Docker is
/// required, else a note (the Docker tests then skip).
pub fn ensure() -> Result<()> {
    ensure_image(BASE_IMAGE, "python3,python-is-python3", "")?;
    ensure_image(
        RUNNER_IMAGE,
        "python3,python-is-python3,python3-pip,python3-venv,git,ca-certificates",
        "rm -f DIR/usr/lib/python3.11/EXTERNALLY-MANAGED",
    )
}

/// Builds `image` with debootstrap (`includes`: the packages; `fixup`: a shell command run on
/// the root file system, `DIR` standing for it) when the engine does not have it.
fn ensure_image(image: &str, includes: &str, fixup: &str) -> Result<()> {
    if !succeeds(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"])) {
        if docker_required() {
            bail!(
                "no Docker engine answers and GREENLIGHT_REQUIRE_DOCKER=1: start it (`dockerd &` as root) or set DOCKER_HOST"
            );
        }
        eprintln!("xtask setup: no Docker engine answers; the Docker tests will be skipped");
        return Ok(());
    }
    if succeeds(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", image])) {
        return Ok(());
    }
    eprintln!("xtask setup: building the Docker image {image} with debootstrap (a few minutes)");
    let root = is_root();
    if !succeeds(Command::new("debootstrap").arg("--version")) {
        if !root {
            bail!(
                "debootstrap is missing: install it (`sudo apt-get install debootstrap`) and run `cargo xtask setup` as root"
            );
        }
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", "debootstrap"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|status| status.success())
        };
        if !install() {
            status(Command::new("apt-get").args(["update", "-q"]))?;
            if !install() {
                bail!("`apt-get install debootstrap` failed");
            }
        }
    }
    if !root {
        bail!("debootstrap needs root: run `sudo cargo xtask setup` once to build {image}");
    }
    let rootfs = project_root().join("target").join("tools").join("base-image-rootfs");
    remove_dir(&rootfs)?;
    let built = build(&rootfs, image, includes, fixup);
    let removed = remove_dir(&rootfs);
    built?;
    removed
}

fn build(rootfs: &Path, image: &str, includes: &str, fixup: &str) -> Result<()> {
    // debootstrap's default mirror is Debian's own.
    status(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={includes}"), "bookworm"])
            .arg(rootfs),
    )?;
    let dir = format!("'{}'", rootfs.display());
    let fixup = if fixup.is_empty() { String::new() } else { format!("{}; ", fixup.replace("DIR", &dir)) };
    let script =
        format!("set -euo pipefail; {fixup}tar -C {dir} -c . | docker import -c 'CMD [\"python3\"]' - '{image}'");
    status(Command::new("bash").args(["-c", &script]))
}

fn remove_dir(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|error| anyhow::anyhow!("cannot remove {}: {error}", path.display()))?;
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}
