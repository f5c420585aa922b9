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
    if !succeeds(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"])) {
        if docker_required() {
            bail!(
                "no Docker engine answers and GREENLIGHT_REQUIRE_DOCKER=1: start it (`dockerd &` as root) or set DOCKER_HOST"
            );
        }
        eprintln!("xtask setup: no Docker engine answers; the Docker tests will be skipped");
        return Ok(());
    }
    if succeeds(Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])) {
        return Ok(());
    }
    eprintln!("xtask setup: building the Docker base image {BASE_IMAGE} with debootstrap (about a minute)");
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
        bail!("debootstrap needs root: run `sudo cargo xtask setup` once to build {BASE_IMAGE}");
    }
    let rootfs = project_root().join("target").join("tools").join("base-image-rootfs");
    remove_dir(&rootfs)?;
    let built = build(&rootfs);
    let removed = remove_dir(&rootfs);
    built?;
    removed
}

fn build(rootfs: &Path) -> Result<()> {
    // debootstrap's default mirror is Debian's own.
    status(
        Command::new("debootstrap")
            .args(["--variant=minbase", "--include=python3,python-is-python3", "bookworm"])
            .arg(rootfs),
    )?;
    let script = format!(
        "set -euo pipefail; tar -C '{}' -c . | docker import -c 'CMD [\"python3\"]' - '{BASE_IMAGE}'",
        rootfs.display()
    );
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
