//! Fault injection: every checker's tool replaced by a fake that misbehaves — crashes, hangs,
//! leaves a process outside its group holding its output, prints garbage, floods 100 MB,
//! prints bytes that are not UTF-8, stalls mid-stream, exits 0 having written nothing. Each
//! run must end with the check `errored` (or `timed_out`), exit code 2, the report written
//! and the reason saying something, nothing left running, and nothing written into the
//! project's tree.
//!
//! A fake, not the real tool, because the real tools cannot be made to fail on demand. The
//! fake answers the version and help probes greenlight sends before the run by handing them to
//! the real tool (so the check sees a real release), and misbehaves on the check's command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_e2e::{TempProject, gone, require_tool, tools_path, wait_for, workspace};
use greenlight_report::Outcome;

/// One way a tool can misbehave: the shell that follows the probes, and the outcome it must
/// give the check.
struct Fault {
    name: &'static str,
    script: &'static str,
    outcome: Outcome,
}

/// `$PIDS` is the file every process of the fake appends its pid to.
const FAULTS: &[Fault] = &[
    Fault { name: "crash", script: "echo 'partial output'\nkill -SEGV $$\n", outcome: Outcome::Errored },
    Fault { name: "hang", script: "sleep 300\n", outcome: Outcome::TimedOut },
    Fault {
        name: "escape the group",
        script: "setsid sh -c 'echo $$ >> \"$PIDS\"; exec sleep 300' &\nsleep 0.2\nexit 0\n",
        outcome: Outcome::Errored,
    },
    Fault {
        name: "garbage",
        script: "echo '<html><body>502 Bad Gateway</body></html>'\nexit 0\n",
        outcome: Outcome::Errored,
    },
    Fault {
        name: "100 MB flood",
        script: "head -c 104857600 /dev/zero | tr '\\0' 'x'\nexit 0\n",
        outcome: Outcome::Errored,
    },
    Fault {
        name: "not UTF-8",
        script: "printf '\\377\\376 \\351t\\351 \\200\\n'\nprintf '\\377 error \\351\\n' >&2\nexit 1\n",
        outcome: Outcome::Errored,
    },
    Fault { name: "stall mid-stream", script: "printf '[{\"code\": \"E'\nsleep 300\n", outcome: Outcome::TimedOut },
    Fault { name: "silent success", script: "exit 0\n", outcome: Outcome::Errored },
];

/// A checker and the tool it runs: the executable's name, and the probe arguments the fake
/// hands to the real tool.
struct Target {
    check: &'static str,
    tool: &'static str,
    executable: &'static str,
    real: fn() -> PathBuf,
    probes: &'static [&'static str],
}

fn venv_tool(name: &str) -> PathBuf {
    workspace().join("target/tools/venv/bin").join(name)
}

fn on_path(name: &str) -> PathBuf {
    std::env::split_paths(&tools_path()).map(|dir| dir.join(name)).find(|path| path.is_file()).unwrap_or_default()
}

/// The fake: probes go to the real tool, anything else misbehaves.
fn fake_script(target: &Target, fault: &Fault, pids: &Path) -> String {
    let probes: Vec<String> = target.probes.iter().map(|probe| format!("\"{probe}\"")).collect();
    format!(
        "#!/bin/sh\nPIDS='{pids}'\nexport PIDS\ncase \"$*\" in\n  {probes}) exec '{real}' \"$@\" ;;\nesac\necho $$ >> \"$PIDS\"\n{script}",
        pids = pids.display(),
        probes = probes.join("|"),
        real = (target.real)().display(),
        script = fault.script,
    )
}

/// A copy of the clean service in git, its tool replaced by the fake at `fake`, every check's
/// timeout short.
fn project_with_fake(target: &Target, fake: &Path) -> TempProject {
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &format!(
            "{pyproject}\n[tool.greenlight.tools]\n{} = {{ path = \"{}\" }}\n\n[tool.greenlight.{}]\ntimeout = \"15s\"\n",
            target.tool,
            fake.display(),
            target.check
        ),
    );
    project.git_init();
    project
}

/// Runs `target`'s check once per fault and asserts what every fault must give.
fn inject_every_fault(target: &Target, extra: &[&str]) {
    let fakes = tempfile::tempdir().unwrap();
    let fake = fakes.path().join(target.executable);
    let pids = fakes.path().join("pids");
    let project = project_with_fake(target, &fake);
    for fault in FAULTS {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(&fake, fake_script(target, fault, &pids)).unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _ = std::fs::remove_file(&pids);
        let before = project.snapshot();
        let mut args = vec![target.check, "--no-cache"];
        args.extend_from_slice(extra);
        let result = project.run_checks(&args);
        let what = format!("{} with a tool that does `{}`", target.check, fault.name);
        assert_eq!(result.code, Some(2), "{what}: exit code\n{}", result.output());
        let report = result.report.as_ref().unwrap_or_else(|| panic!("{what}: no report\n{}", result.output()));
        let check = report.check(target.check).unwrap_or_else(|| panic!("{what}: not in the report"));
        assert_eq!(check.outcome, fault.outcome, "{what}: outcome\n{}", result.output());
        let reason = check.reason.as_deref().unwrap_or_default();
        assert!(reason.trim().len() > 10, "{what}: the reason says nothing: {reason:?}\n{}", result.output());
        assert!(!reason.trim_end().ends_with(':'), "{what}: the reason ends on a colon: {reason:?}");
        let started = std::fs::read_to_string(&pids).unwrap_or_default();
        assert!(!started.is_empty(), "{what}: the fake never ran its fault\n{}", result.output());
        for pid in started.split_whitespace() {
            assert!(wait_for(Duration::from_secs(5), || gone(pid)), "{what}: process {pid} was left running");
        }
        assert_eq!(project.snapshot(), before, "{what}: the run wrote into the project's tree");
        let logs = project.path().join(".greenlight/logs");
        let largest = largest_file(&logs);
        assert!(largest <= 13 << 20, "{what}: a log of {largest} bytes");
    }
}

fn largest_file(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { largest_file(&path) } else { entry.metadata().map_or(0, |meta| meta.len()) }
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn ruff_check_faults() {
    if !require_tool("ruff") {
        return;
    }
    let target = Target {
        check: "ruff-check",
        tool: "ruff",
        executable: "ruff",
        real: || venv_tool("ruff"),
        probes: &["--version"],
    };
    inject_every_fault(&target, &[]);
}

#[test]
fn ruff_format_faults() {
    if !require_tool("ruff") {
        return;
    }
    let target = Target {
        check: "ruff-format",
        tool: "ruff",
        executable: "ruff",
        real: || venv_tool("ruff"),
        probes: &["--version", "format --help"],
    };
    inject_every_fault(&target, &[]);
}

#[test]
fn pytest_faults() {
    if !require_tool("pytest") || !require_tool("uv") {
        return;
    }
    let target = Target {
        check: "pytest",
        tool: "pytest",
        executable: "pytest",
        real: || venv_tool("pytest"),
        probes: &["--version"],
    };
    inject_every_fault(&target, &[]);
}

#[test]
fn gitleaks_faults() {
    if !require_tool("gitleaks") {
        return;
    }
    let target = Target {
        check: "gitleaks",
        tool: "gitleaks",
        executable: "gitleaks",
        real: || on_path("gitleaks"),
        probes: &["version", "--help", "help", "detect --help", "git --help", "dir --help"],
    };
    inject_every_fault(&target, &[]);
}

#[test]
fn pip_audit_faults() {
    if !require_tool("pip-audit") || !require_tool("uv") {
        return;
    }
    let target = Target {
        check: "pip-audit",
        tool: "pip-audit",
        executable: "pip-audit",
        real: || venv_tool("pip-audit"),
        probes: &["--version", "--help"],
    };
    let db = workspace().join("fixtures/advisory-db").display().to_string();
    inject_every_fault(&target, &["--advisory-db", &db]);
}

#[test]
fn build_faults() {
    if !require_tool("pyproject-build") {
        return;
    }
    let target = Target {
        check: "build",
        tool: "build",
        executable: "pyproject-build",
        real: || venv_tool("pyproject-build"),
        probes: &["--version", "--help"],
    };
    inject_every_fault(&target, &[]);
}
