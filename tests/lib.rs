//! Helpers for the end-to-end tests: temporary copies of fixtures, git repositories made on
//! the fly, and running the real `greenlight` binary.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary under test and git, and read their own switches (GREENLIGHT_REQUIRE_TOOLS) from the environment"
)]
#![expect(clippy::print_stderr, reason = "tests explain why they skip")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use greenlight_report::RunReport;
use serde::Deserialize;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// The `greenlight` binary next to the test binary (`target/<profile>/greenlight`).
pub fn greenlight_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("greenlight");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p greenlight-cli` (`cargo xtask test` does)",
        bin.display()
    );
    bin
}

/// `PATH` for the binary: the tools installed by `cargo xtask setup` first.
pub fn tools_path() -> String {
    let tools = workspace().join("target/tools/venv/bin");
    format!("{}:{}", tools.display(), std::env::var("PATH").unwrap_or_default())
}

/// True when `tool` is on the tools `PATH`. When it is not: panics if the run requires tools
/// (`GREENLIGHT_REQUIRE_TOOLS=1`, set by `cargo xtask test` and CI), else prints why the test
/// is skipped and returns false.
pub fn require_tool(tool: &str) -> bool {
    let found = std::env::split_paths(&tools_path()).any(|dir| dir.join(tool).is_file());
    if found {
        return true;
    }
    if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
        panic!("`{tool}` is required (GREENLIGHT_REQUIRE_TOOLS=1) but not installed; run `cargo xtask setup`");
    }
    eprintln!("skipped: `{tool}` is not installed (run `cargo xtask setup`)");
    false
}

/// A temporary copy of a fixture (or an empty project), removed on drop.
pub struct TempProject {
    dir: tempfile::TempDir,
}

impl TempProject {
    /// Copies `fixtures/<name>` into a new temporary directory.
    pub fn fixture(name: &str) -> Self {
        let project = Self::empty();
        copy_dir(&workspace().join("fixtures").join(name), project.path());
        let _ = std::fs::remove_file(project.path().join("expected.toml"));
        project
    }

    /// Copies `fixtures/<name>` into `<subdir>` of a new temporary directory: a project in a
    /// subdirectory of its repository (a monorepo). [`TempProject::path`] is the directory
    /// above; the project is at `path().join(subdir)`.
    pub fn fixture_at(name: &str, subdir: &str) -> Self {
        let project = Self::empty();
        copy_dir(&workspace().join("fixtures").join(name), &project.path().join(subdir));
        let _ = std::fs::remove_file(project.path().join(subdir).join("expected.toml"));
        project
    }

    /// An empty temporary directory.
    pub fn empty() -> Self {
        Self { dir: tempfile::Builder::new().prefix("greenlight-e2e-").tempdir().expect("a temp dir") }
    }

    /// The project root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating directories).
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Runs git in the project and returns its stdout; panics when git fails.
    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// Commits everything as `subject` with author and committer date `date` (RFC 3339), and
    /// returns the commit's sha: histories of the past, for `--as-of commit`.
    pub fn commit_at(&self, subject: &str, date: &str) -> String {
        self.git(&["add", "-A"]);
        let dates = [("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)];
        git_with(self.path(), &["commit", "-q", "--allow-empty", "-m", subject], &dates);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `git init` with a fixed identity and one commit of everything.
    pub fn git_init(&self) {
        self.git(&["init", "-q", "-b", "main"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "initial commit"]);
    }

    /// Gives the project to another user (`nobody`), as a container's bind mount or a CI
    /// workspace is: git then refuses the repository unless it is marked safe. Needs root:
    /// when the tests do not run as root, prints why the test is skipped and returns false.
    pub fn give_to_another_user(&self) -> bool {
        let uid = Command::new("id").arg("-u").output().expect("run `id -u`");
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("skipped: giving the repository to another user needs root");
            return false;
        }
        let status = Command::new("chown").args(["-R", "nobody"]).arg(self.path()).status().expect("run chown");
        assert!(status.success(), "chown -R nobody {}", self.path().display());
        true
    }

    /// A listing of every file and its content hash, to prove a run changed nothing
    /// (`.greenlight/` excepted).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        let mut files = BTreeMap::new();
        walk(self.path(), self.path(), &mut files);
        files
    }

    /// Runs `greenlight` with `args` in the project directory.
    pub fn run(&self, args: &[&str]) -> RunResult {
        run_greenlight(self.path(), args, &[])
    }

    /// Runs `greenlight run --json <file> ARGS` and parses the report.
    pub fn run_checks(&self, args: &[&str]) -> RunResult {
        self.run_checks_with(args, &[])
    }

    /// [`TempProject::run_checks`] with extra environment variables.
    pub fn run_checks_with(&self, args: &[&str], env: &[(&str, &str)]) -> RunResult {
        let report = self.path().join(".greenlight").join("e2e-report.json");
        let report_arg = report.display().to_string();
        let mut all = vec!["run", "--no-progress", "--json", report_arg.as_str()];
        all.extend_from_slice(args);
        let mut result = run_greenlight(self.path(), &all, env);
        result.report = std::fs::read_to_string(&report).ok().map(|text| {
            serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("the JSON report does not parse: {error}\n{text}"))
        });
        result
    }
}

/// What a run of the binary left.
#[derive(Debug)]
pub struct RunResult {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// The JSON report, when one was requested and written.
    pub report: Option<RunReport>,
}

impl RunResult {
    /// The report; panics with the output when there is none.
    pub fn report(&self) -> &RunReport {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON report\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// stdout and stderr, for assertion messages.
    pub fn output(&self) -> String {
        format!("exit code: {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The binary with `args` in `dir`: the tools first on `PATH`, not on GitHub Actions, no
/// colour, the suite's user cache, stdin closed.
fn greenlight_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(greenlight_bin());
    command
        .args(args)
        .current_dir(dir)
        .env("PATH", tools_path())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_EVENT_PATH")
        .env("NO_COLOR", "1")
        .env("GREENLIGHT_CACHE_DIR", workspace().join("target/e2e-cache"))
        // The full advisory database the suite may be given is for the tests that ask for it.
        .env_remove("GREENLIGHT_ADVISORY_DB")
        .stdin(Stdio::null());
    command
}

/// Runs the binary in `dir` with extra environment variables.
pub fn run_greenlight(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let mut command = greenlight_command(dir, args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run greenlight");
    RunResult {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: None,
    }
}

/// Starts the binary without waiting (for signal tests).
pub fn spawn_greenlight(dir: &Path, args: &[&str]) -> Child {
    greenlight_command(dir, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn greenlight")
}

/// Presses Ctrl-C: sends SIGINT to `child` and waits up to `timeout` for it to exit. Returns
/// how it exited; panics (after killing it) when it is still running then.
pub fn interrupt(child: &mut Child, timeout: Duration) -> ExitStatus {
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("run kill");
    assert!(status.success(), "kill -INT {}", child.id());
    let mut finished = None;
    let exited = wait_for(timeout, || {
        finished = child.try_wait().expect("wait for greenlight");
        finished.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    finished.unwrap_or_else(|| panic!("greenlight did not exit within {timeout:?} after SIGINT"))
}

/// Runs git in `dir` with a fixed identity; panics with git's output when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_with(dir, args, &[])
}

/// [`git`] with more environment variables (commit dates).
pub fn git_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The expected outcomes kept beside a fixture in `expected.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// What the fixture is.
    pub description: String,
    /// The exit code of `greenlight run` on the listed checks.
    pub exit_code: i32,
    /// Expectations per check id.
    pub checks: BTreeMap<String, ExpectedCheck>,
}

/// Expectations for one check.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedCheck {
    /// The outcome.
    pub outcome: String,
    /// Exactly these findings: `[rule, path, line]`.
    #[serde(default)]
    pub findings: Option<Vec<(String, String, u32)>>,
    /// Rules that must appear among the findings.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Text the reason must contain.
    #[serde(default)]
    pub reason_contains: Option<String>,
    /// Text the summary must contain.
    #[serde(default)]
    pub summary_contains: Option<String>,
}

impl Expected {
    /// Reads `fixtures/<name>/expected.toml`.
    pub fn load(name: &str) -> Self {
        let path = workspace().join("fixtures").join(name).join("expected.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    /// Checks a run against these expectations; panics with everything that differs.
    pub fn assert_matches(&self, result: &RunResult) {
        let report = result.report();
        let mut problems = Vec::new();
        if result.code != Some(self.exit_code) {
            problems.push(format!("exit code {:?}, expected {}", result.code, self.exit_code));
        }
        for (id, expected) in &self.checks {
            let Some(check) = report.check(id) else {
                problems.push(format!("{id}: missing from the report"));
                continue;
            };
            if check.outcome.as_str() != expected.outcome {
                problems.push(format!(
                    "{id}: outcome {}, expected {} (summary: {}; reason: {:?})",
                    check.outcome, expected.outcome, check.summary, check.reason
                ));
            }
            if let Some(findings) = &expected.findings {
                let mut actual: Vec<(String, String, u32)> = check
                    .findings
                    .iter()
                    .map(|f| {
                        let location = f.location.clone().unwrap_or_default();
                        (f.rule.clone(), location.path, location.line.unwrap_or(0))
                    })
                    .collect();
                actual.sort();
                let mut wanted = findings.clone();
                wanted.sort();
                if actual != wanted {
                    problems.push(format!("{id}: findings {actual:?}, expected {wanted:?}"));
                }
            }
            for rule in &expected.rules {
                if !check.findings.iter().any(|f| &f.rule == rule) {
                    problems.push(format!("{id}: no finding of rule {rule}"));
                }
            }
            if let Some(text) = &expected.reason_contains
                && !check.reason.as_deref().unwrap_or_default().contains(text.as_str())
            {
                problems.push(format!("{id}: reason {:?} does not contain {text:?}", check.reason));
            }
            if let Some(text) = &expected.summary_contains
                && !check.summary.contains(text.as_str())
            {
                problems.push(format!("{id}: summary {:?} does not contain {text:?}", check.summary));
            }
        }
        assert!(problems.is_empty(), "{}:\n  {}\n{}", self.description, problems.join("\n  "), result.output());
    }

    /// The check ids this fixture has expectations for (setup steps such as `environment`
    /// excluded: they run when a check needs them).
    pub fn check_ids(&self) -> Vec<&str> {
        self.checks.keys().map(String::as_str).filter(|id| *id != "environment").collect()
    }
}

/// Runs the checks `fixtures/<name>/expected.toml` lists on a temporary copy of the fixture,
/// asserts the expectations, and asserts the project's files are unchanged. Returns the run.
pub fn check_fixture(name: &str, extra_args: &[&str]) -> RunResult {
    let expected = Expected::load(name);
    let project = TempProject::fixture(name);
    let before = project.snapshot();
    let mut args = expected.check_ids();
    args.extend_from_slice(extra_args);
    let result = project.run_checks(&args);
    expected.assert_matches(&result);
    assert_eq!(project.snapshot(), before, "the run changed the project's files\n{}", result.output());
    result
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).unwrap_or_else(|error| panic!("{}: {error}", from.display())) {
        let entry = entry.expect("dir entry");
        let name = entry.file_name();
        if name == ".greenlight" || name == "__pycache__" || name == ".ruff_cache" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, u64>) {
    use std::hash::{Hash as _, Hasher as _};
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
        if relative == ".greenlight" || relative == ".git" {
            continue;
        }
        if path.is_dir() {
            files.insert(format!("{relative}/"), 0);
            walk(root, &path, files);
        } else {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
            files.insert(relative, hasher.finish());
        }
    }
}

/// Everything a run showed or wrote, as `(name, text)`: stdout, stderr and every file under
/// the project's `.greenlight/` (logs, the cache, reports written there), except the project
/// environment (a virtualenv) and the bytecode cache, which hold the project's own code.
pub fn everything_written(dir: &Path, result: &RunResult) -> Vec<(String, String)> {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.join("pyvenv.cfg").exists() && !path.ends_with(".greenlight/pycache") {
                    collect(&path, files);
                }
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    collect(&dir.join(".greenlight"), &mut files);
    let mut outputs =
        vec![("stdout".to_string(), result.stdout.clone()), ("stderr".to_string(), result.stderr.clone())];
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        outputs.push((file.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    outputs
}

/// Waits until `condition` holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// True while process `pid` exists and is not a zombie.
pub fn pid_alive(pid: &str) -> bool {
    let pid: u32 = pid.trim().parse().unwrap_or_else(|_| panic!("not a pid: {pid:?}"));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
    stat.is_ok_and(|stat| !stat.contains(") Z "))
}

/// Waits up to five seconds for process `pid` (as written in a pid file) to be gone.
pub fn gone(pid: &str) -> bool {
    wait_for(Duration::from_secs(5), || !pid_alive(pid))
}

/// The local base image the Docker fixtures build from (`cargo xtask setup` makes it; no
/// registry is needed). Fixtures name their base image with `ARG BASE_IMAGE`.
pub const DOCKER_BASE_IMAGE: &str = "greenlight-test/python:3.11-bookworm";

/// Runs the `docker` CLI (verification only: greenlight itself talks to the Engine API) and
/// returns its stdout, or `None` when it fails.
pub fn docker(args: &[&str]) -> Option<String> {
    let output = Command::new("docker").args(args).stdin(Stdio::null()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// True when a Docker engine answers and the base image exists. When not: panics if the run
/// requires Docker (`GREENLIGHT_REQUIRE_DOCKER=1`, set by CI), else prints why the test is
/// skipped and returns false.
pub fn require_docker() -> bool {
    let problem = if docker(&["version", "--format", "{{.Server.Version}}"]).is_none() {
        Some("no Docker engine answers (start it, or set DOCKER_HOST)".to_string())
    } else if docker(&["image", "inspect", "--format", "{{.Id}}", DOCKER_BASE_IMAGE]).is_none() {
        Some(format!("the base image {DOCKER_BASE_IMAGE} is missing (run `cargo xtask setup`)"))
    } else {
        None
    };
    let Some(problem) = problem else { return true };
    if std::env::var("GREENLIGHT_REQUIRE_DOCKER").is_ok_and(|value| value == "1") {
        panic!("Docker is required (GREENLIGHT_REQUIRE_DOCKER=1) but {problem}");
    }
    eprintln!("skipped: {problem}");
    false
}

/// The user cache the end-to-end runs share (`GREENLIGHT_CACHE_DIR` of every run): tools
/// greenlight installs stay there between test runs.
pub fn e2e_cache() -> PathBuf {
    workspace().join("target/e2e-cache")
}

/// The newest release of `package` uploaded before `moment` (RFC 3339), as the package index
/// says through `uv pip compile --exclude-newer`: what a CI that pinned nothing installed then.
pub fn release_as_of(package: &str, moment: &str) -> String {
    let input = tempfile::NamedTempFile::new().expect("a temp file");
    std::fs::write(input.path(), format!("{package}\n")).expect("write");
    let output = Command::new("uv")
        .args(["pip", "compile", "--no-deps", "--no-header", "--no-annotate", "--quiet", "--exclude-newer", moment])
        .arg("--python")
        .arg("python3")
        .arg(input.path())
        .env("PATH", tools_path())
        .output()
        .expect("run uv");
    let text = String::from_utf8_lossy(&output.stdout);
    let prefix = format!("{package}==");
    text.lines()
        .find_map(|line| line.trim().strip_prefix(&prefix).map(str::to_string))
        .unwrap_or_else(|| panic!("no {package} as of {moment}: {text}{}", String::from_utf8_lossy(&output.stderr)))
}

/// `package==version` installed from PyPI into the user cache (`pinned-tools/`, once; later
/// runs reuse it), independently of greenlight: the tool a test pins by hand. Returns its
/// `bin` directory.
pub fn pinned_tool(package: &str, version: &str) -> PathBuf {
    let dir = e2e_cache().join("pinned-tools").join(format!("{package}-{version}"));
    if dir.join(".complete").is_file() {
        return dir.join("bin");
    }
    if dir.exists() {
        // Left by an install that did not finish.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let staging = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let output = Command::new("uv")
        .args(["pip", "install", "--quiet", "--target"])
        .arg(&staging)
        .arg(format!("{package}=={version}"))
        .env("PATH", tools_path())
        .output()
        .expect("run uv");
    assert!(
        output.status.success(),
        "uv pip install {package}=={version}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(staging.join(".complete"), version).expect("write");
    // Another test may have installed it meanwhile: either copy is complete.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    dir.join("bin")
}
