//! Reproducing a red main: `run --rev`, `bisect`, `policy` and `hotfix` on temporary git
//! repositories with real histories, with the real tools.
//!
//! Every test that touches a repository checks that the user's state — `git worktree list`,
//! `git status`, the current branch — is exactly as before, also after Ctrl-C.
#![expect(clippy::print_stderr, reason = "bisect timings are printed, not asserted")]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use greenlight_e2e::{TempProject, git, require_tool, run_greenlight, spawn_greenlight, wait_for};
use greenlight_report::{Outcome, RunReport};
use serde_json::Value;

/// The default policy's metadata and sections, filled in.
const GOOD_BODY: &str = "PR_TYPE: FIX\nAUTO_RUN_MODE: MANUAL\nMILESTONE_ID: M-42\nBLUEPRINT_REF: docs/blueprints/health.md\n\n[BA]\nHealth checks must report the probe.\n\n[QA]\nAdded a test.\n\n[SRE]\nNo configuration change.\n\n[DEV]\nOne function.\n";

/// A repository made from the clean-service fixture with a known history:
///
/// ```text
/// good ─ docs 1 ─ docs 2 ─ lint ─ docs 3 ─ merge(feature: failing test) ─ docs 4  (main)
/// ```
///
/// `lint` adds an unused import (ruff-check fails from there); the merge brings a failing test
/// (pytest fails from there).
struct History {
    project: TempProject,
    commits: BTreeMap<&'static str, String>,
}

impl History {
    /// The clean-service fixture committed once, and nothing else yet. Its docker check is
    /// off: these tests are about histories, and two of them building the same image at once
    /// on one engine would share layers through Docker's cache, which each run removes.
    fn initial() -> Self {
        let project = TempProject::fixture("clean-service");
        let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
        assert!(pyproject.contains("[tool.greenlight.docker]\n"), "clean-service configures docker");
        project.write(
            "pyproject.toml",
            &pyproject.replace("[tool.greenlight.docker]\n", "[tool.greenlight.docker]\nenabled = false\n"),
        );
        project.git_init();
        Self { project, commits: BTreeMap::new() }
    }

    fn new() -> Self {
        let project = Self::initial().project;
        project.git(&["config", "user.name", "Test Author"]);
        project.git(&["config", "user.email", "author@example.com"]);
        let mut history = Self { project, commits: BTreeMap::new() };
        history.mark("good");
        history.docs("docs 1");
        history.docs("docs 2");
        history.add_lint();
        history.mark("lint");
        history.docs("docs 3");
        history.project.git(&["switch", "-q", "-c", "feature"]);
        let tests = std::fs::read_to_string(history.path().join("tests/test_api.py")).unwrap();
        history.project.write(
            "tests/test_api.py",
            &format!("{tests}\n\ndef test_health_reports_the_probe() -> None:\n    assert health() == {{\"status\": \"ok\", \"probe\": \"db\"}}\n"),
        );
        history.commit("tests: the health probe", "feature-test");
        history.project.git(&["switch", "-q", "main"]);
        history.project.git(&["merge", "-q", "--no-ff", "feature", "-m", "Merge branch 'feature'"]);
        history.mark("merge");
        history.docs("docs 4");
        history.mark("bad");
        history
    }

    fn path(&self) -> &Path {
        self.project.path()
    }

    fn mark(&mut self, name: &'static str) {
        let sha = self.head();
        self.commits.insert(name, sha);
    }

    /// The sha of `HEAD`.
    fn head(&self) -> String {
        self.project.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Commits an unused import (ruff-check fails from here on) and returns its sha.
    fn add_lint(&self) -> String {
        self.edit(
            "packages/core/health.py",
            "\"\"\"Health reporting.\"\"\"\n",
            "\"\"\"Health reporting.\"\"\"\n\nimport os\n",
        );
        self.project.git(&["commit", "-q", "-am", "health: read the environment"]);
        self.head()
    }

    /// `bisect --check ruff-check` from `good` to main, and its JSON result.
    fn bisect_ruff_check(&self, good: &str) -> (greenlight_e2e::RunResult, Value) {
        let result = self.run(&[
            "bisect",
            "--good",
            good,
            "--bad",
            "main",
            "--check",
            "ruff-check",
            "--json",
            ".greenlight/b.json",
        ]);
        assert_eq!(result.code, Some(0), "{}", result.output());
        let json = read_json(&self.path().join(".greenlight/b.json"));
        (result, json)
    }

    fn sha(&self, name: &str) -> &str {
        self.commits.get(name).unwrap_or_else(|| panic!("no commit {name}"))
    }

    fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path().join(relative)).unwrap();
        assert!(text.contains(from), "{relative} has no {from:?}");
        self.project.write(relative, &text.replacen(from, to, 1));
    }

    fn commit(&mut self, subject: &str, name: &'static str) {
        self.project.git(&["add", "-A"]);
        self.project.git(&["commit", "-q", "-m", subject]);
        self.mark(name);
    }

    /// A commit that changes only documentation.
    fn docs(&self, subject: &str) {
        let path = self.path().join("docs/notes.md");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!("- {subject}\n"));
        self.project.write("docs/notes.md", &text);
        self.project.git(&["add", "-A"]);
        self.project.git(&["commit", "-q", "-m", subject]);
    }

    /// Runs greenlight in the repository. pip-audit audits against the bundled advisory
    /// records, so runs of every check decide without a vulnerability service.
    fn run(&self, args: &[&str]) -> greenlight_e2e::RunResult {
        let advisories = greenlight_e2e::workspace().join("fixtures/advisory-db").display().to_string();
        run_greenlight(self.path(), args, &[("GREENLIGHT_ADVISORY_DB", advisories.as_str())])
    }
}

/// What greenlight promises not to change: current branch, status, worktrees, branches.
fn user_state(dir: &Path) -> String {
    [
        git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]),
        git(dir, &["status", "--porcelain", "--untracked-files=all"]),
        git(dir, &["worktree", "list", "--porcelain"]),
        git(dir, &["branch", "--list"]),
        git(dir, &["stash", "list"]),
    ]
    .join("\n--\n")
}

fn read_report(path: &Path) -> RunReport {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn ready() -> bool {
    require_tool("ruff") && require_tool("uv")
}

#[test]
fn run_rev_checks_the_commit_not_the_working_tree() {
    if !ready() {
        return;
    }
    let history = History::new();
    // Uncommitted changes that would fail the lint, and an untracked file.
    history.edit("apps/api/main.py", "\"\"\"", "import sys\n\"\"\"");
    history.project.write("scratch.txt", "notes\n");
    let before = user_state(history.path());

    let report_path = history.path().join("good.json");
    let result = history.run(&["run", "--rev", "HEAD~6", "ruff-check", "--no-progress", "--json", "good.json"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let report = read_report(&report_path);
    assert_eq!(report.project.commit.as_deref(), Some(history.sha("good")));
    assert_eq!(report.project.rev.as_deref(), Some("HEAD~6"));
    assert_eq!(report.project.dirty, Some(false));
    assert_eq!(report.project.root, std::fs::canonicalize(history.path()).unwrap().display().to_string());
    let log = report.check("ruff-check").unwrap().log.as_ref().unwrap();
    assert!(log.path.starts_with(".greenlight/logs/"), "logs outlive the worktree: {log:?}");

    let result = history.run(&["run", "--rev", "main", "ruff-check", "--no-progress", "--json", "bad.json"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = read_report(&history.path().join("bad.json"));
    assert_eq!(report.project.commit.as_deref(), Some(history.sha("bad")));
    let findings: Vec<(String, String)> = report
        .check("ruff-check")
        .unwrap()
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.location.clone().unwrap().path))
        .collect();
    assert_eq!(findings, [("F401".to_string(), "packages/core/health.py".to_string())], "{}", result.output());
    // The dirty working tree (sys imported but unused in apps/api/main.py) did not leak in.
    assert!(result.stderr.contains("in a temporary worktree"), "{}", result.output());

    std::fs::remove_file(&report_path).unwrap();
    std::fs::remove_file(history.path().join("bad.json")).unwrap();
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn run_rev_with_tools_from_and_an_unknown_revision() {
    if !ready() {
        return;
    }
    let history = History::new();
    let before = user_state(history.path());
    // The tool versions of an earlier run (CI's report): the run uses and records them.
    let first = history.run(&["run", "--rev", "main", "ruff-check", "--no-progress", "--json", ".greenlight/ci.json"]);
    assert_eq!(first.code, Some(1), "{}", first.output());
    let ci_version = read_report(&history.path().join(".greenlight/ci.json")).tools["ruff"].version.clone();
    let result = history.run(&[
        "run",
        "--rev",
        "main",
        "ruff-check",
        "--tools-from",
        ".greenlight/ci.json",
        "--no-progress",
        "--json",
        ".greenlight/again.json",
    ]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let again = read_report(&history.path().join(".greenlight/again.json"));
    assert_eq!(again.tools["ruff"].version, ci_version);
    assert_eq!(again.project.commit.as_deref(), Some(history.sha("bad")));

    let result = history.run(&["run", "--rev", "no-such-branch", "--no-progress"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("unknown revision `no-such-branch`"), "{}", result.output());
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn run_rev_reuses_the_environment_of_equal_dependency_files() {
    if !ready() || !require_tool("pytest") {
        return;
    }
    let history = History::new();
    let environment = |report: &RunReport| report.check("environment").unwrap().summary.clone();
    let run = |rev: &str| {
        let result = history.run(&["run", "--rev", rev, "pytest", "--no-progress", "--json", ".greenlight/r.json"]);
        (result, read_report(&history.path().join(".greenlight/r.json")))
    };
    let (result, report) = run("HEAD~6");
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(environment(&report).starts_with("created .greenlight/envs/"), "{}", result.output());
    let (result, report) = run("main");
    assert_eq!(result.code, Some(1), "the merged failing test\n{}", result.output());
    assert!(environment(&report).starts_with("reused .greenlight/envs/"), "{}", result.output());

    // While another run holds the repository's worktree path, the checkout is elsewhere: the
    // stored environment is pointed at it (the project reinstalled, not its dependencies).
    // The fixed path is `$TMPDIR/greenlight-worktrees/<first 16 hex of sha256(toplevel)>/`.
    let toplevel = git(history.path(), &["rev-parse", "--show-toplevel"]);
    let held =
        std::env::temp_dir().join("greenlight-worktrees").join(greenlight_report::fingerprint(&[toplevel.trim()]));
    std::fs::create_dir_all(&held).unwrap();
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(held.join("lock")).unwrap();
    lock.try_lock().unwrap();
    let (result, report) = run("HEAD~6");
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(environment(&report).ends_with("for this checkout"), "{}", result.output());
    drop(lock);
    let _ = std::fs::remove_dir_all(&held);
    assert_eq!(
        std::fs::read_dir(history.path().join(".greenlight/envs"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count(),
        1
    );
}

#[test]
fn bisect_names_the_lint_commit_and_the_merge_then_hotfix_restores_green() {
    if !ready() || !require_tool("pytest") {
        return;
    }
    let history = History::new();
    let before = user_state(history.path());

    // Default checks: the ones failing at --bad (ruff-check and pytest).
    let started = Instant::now();
    let result =
        history.run(&["bisect", "--good", history.sha("good"), "--bad", "main", "--json", ".greenlight/bisect.json"]);
    eprintln!("bisect of ruff-check and pytest over 6 commits: {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(result.code, Some(0), "{}", result.output());
    let json = read_json(&history.path().join(".greenlight/bisect.json"));
    let first_bad = |check: &str| -> String {
        let entry = json["checks"].as_array().unwrap().iter().find(|c| c["check"] == check).unwrap();
        entry["first_bad"]["sha"].as_str().unwrap().to_string()
    };
    assert_eq!(first_bad("ruff-check"), history.sha("lint"), "{}", result.output());
    assert_eq!(first_bad("pytest"), history.sha("merge"), "{}", result.output());
    assert_eq!(json["first_bad"]["sha"], history.sha("lint"));
    assert_eq!(json["first_parent"], true);
    let lint = json["checks"].as_array().unwrap().iter().find(|c| c["check"] == "ruff-check").unwrap();
    assert_eq!(lint["new_findings"][0]["rule"], "F401");
    assert!(result.stdout.contains("health: read the environment"), "{}", result.output());
    assert!(result.stdout.contains("author: Test Author <author@example.com>"), "{}", result.output());
    assert!(result.stdout.contains("git revert -m 1"), "the merge is named as such\n{}", result.output());
    assert_eq!(user_state(history.path()), before);

    // One check at a time names each commit.
    let result =
        history.run(&["bisect", "--good", history.sha("good"), "--bad", "main", "--check", "ruff-check", "-q"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(
        result.stdout.contains(&format!("ruff-check: first bad commit {}", history.sha("lint"))),
        "{}",
        result.output()
    );
    assert!(!result.stdout.contains("pytest"), "{}", result.output());

    // The hotfix from the bisect result: both commits reverted, main green again.
    let result =
        history.run(&["hotfix", "--from-bisect", ".greenlight/bisect.json", "--json", ".greenlight/hotfix.json"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(result.stdout.contains("main would be green again"), "{}", result.output());
    let report = read_report(&history.path().join(".greenlight/hotfix.json"));
    for id in ["ruff-check", "pytest"] {
        assert_eq!(report.check(id).unwrap().outcome, Outcome::Passed, "{id}\n{}", result.output());
    }
    let subjects = git(history.path(), &["log", "-2", "--format=%s", "hotfix/restore-main-green"]);
    assert!(subjects.contains("Revert \"Merge branch 'feature'\""), "{subjects}");
    assert!(subjects.contains("Revert \"health: read the environment\""), "{subjects}");
    let parent = git(history.path(), &["rev-parse", "hotfix/restore-main-green~2"]);
    assert_eq!(parent.trim(), history.sha("bad"), "the hotfix starts from main");
    // Nothing pushed, nothing of the user's touched; the branch ref is the only addition.
    let after = user_state(history.path());
    assert_eq!(after.replace("  hotfix/restore-main-green\n", ""), before, "{after}");

    // The PR body passes the policy, with the evidence in it.
    let body = std::fs::read_to_string(history.path().join(".greenlight/hotfix/PR_BODY.md")).unwrap();
    assert!(body.contains("PR_TYPE: HOTFIX"), "{body}");
    assert!(body.contains("`pytest`: failed"), "{body}");
    assert!(body.contains(&history.sha("merge")[..12]), "{body}");
    let title = std::fs::read_to_string(history.path().join(".greenlight/hotfix/PR_TITLE.txt")).unwrap();
    assert!(title.starts_with("HOTFIX: "), "{title}");
    let result = history.run(&["policy", "--pr-body", ".greenlight/hotfix/PR_BODY.md"]);
    assert_eq!(result.code, Some(0), "{}", result.output());

    // A second hotfix on the same branch name is refused.
    let result = history.run(&["hotfix", "--revert", history.sha("merge")]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("already exists"), "{}", result.output());
}

#[test]
fn hotfix_reverting_only_the_merge_restores_the_state_before_it() {
    if !ready() || !require_tool("pytest") {
        return;
    }
    let history = History::new();
    let before = user_state(history.path());
    let result = history.run(&["hotfix", "--revert", history.sha("merge"), "--branch", "hotfix/tests", "-q"]);
    // ruff-check broke before the merge (`lint`): it was already red at the merge's first
    // parent, with the same findings, so the revert restores that state.
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert!(result.stdout.contains("the reverts restore the state of the last good commit"), "{}", result.output());
    assert!(result.stdout.contains("fixed by the reverts: pytest"), "{}", result.output());
    assert!(result.stdout.contains("(no new findings on the branch): ruff-check"), "{}", result.output());
    let subject = git(history.path(), &["log", "-1", "--format=%s", "hotfix/tests"]);
    assert_eq!(subject.trim(), "Revert \"Merge branch 'feature'\"");
    let after = user_state(history.path());
    assert_eq!(after.replace("  hotfix/tests\n", ""), before, "{after}");

    // A revert that conflicts (later commits edit the same lines) leaves nothing behind.
    let docs = git(history.path(), &["log", "--format=%H", "--grep", "^docs 1$", "main"]);
    let result =
        history.run(&["hotfix", "--revert", docs.trim(), "--branch", "hotfix/conflict", "--check", "ruff-check"]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    assert!(result.stderr.contains("conflicts in: docs/notes.md"), "{}", result.output());
    let after = user_state(history.path());
    assert_eq!(after.replace("  hotfix/tests\n", ""), before, "{after}");

    // Nothing to revert, and a commit not on main, are usage errors that create nothing.
    let result = history.run(&["hotfix", "--branch", "hotfix/none"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("nothing to revert"), "{}", result.output());
    history.project.git(&["switch", "-q", "-c", "side", history.sha("good")]);
    history.docs("side work");
    history.project.git(&["switch", "-q", "main"]);
    let result = history.run(&["hotfix", "--revert", "side", "--branch", "hotfix/side"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("not in the history of `main`"), "{}", result.output());
    assert!(!git(history.path(), &["branch", "--list"]).contains("hotfix/side"));
}

#[test]
fn bisect_skips_commits_where_the_check_errored() {
    if !ready() {
        return;
    }
    let history = History::initial();
    let good = history.head();
    history.docs("docs 1");
    history.docs("docs 2");
    // ruff cannot read its configuration here: `errored`, untestable.
    history.edit("pyproject.toml", "line-length = 100", "line-length = \"long\"");
    history.project.git(&["commit", "-q", "-am", "config: broken"]);
    let broken = history.head();
    history.edit("pyproject.toml", "line-length = \"long\"", "line-length = 100");
    history.project.git(&["commit", "-q", "-am", "config: fixed"]);
    let lint = history.add_lint();
    history.docs("docs 3");
    history.docs("docs 4");
    let before = user_state(history.path());

    let (result, json) = history.bisect_ruff_check(&good);
    assert_eq!(json["checks"][0]["first_bad"]["sha"], lint.as_str(), "{}", result.output());
    let tested = json["tested"].as_array().unwrap();
    let skipped =
        tested.iter().find(|commit| commit["commit"] == broken.as_str()).expect("the broken commit was probed");
    assert_eq!(skipped["outcomes"]["ruff-check"], "errored");
    assert_eq!(skipped["untestable"][0], "ruff-check");
    assert!(result.stdout.contains("skipped as untestable"), "{}", result.output());
    assert_eq!(user_state(history.path()), before);

    // A check that passes at bad cannot be bisected; good must pass.
    let result = history.run(&["bisect", "--good", &good, "--bad", "main", "--check", "ruff-format"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("nothing to bisect"), "{}", result.output());
    let result = history.run(&["bisect", "--good", &lint, "--bad", "main", "--check", "ruff-check"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("already fails at --good"), "{}", result.output());
    let result = history.run(&["bisect", "--good", "main", "--bad", &good]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("not an ancestor"), "{}", result.output());
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn bisect_steps_over_commits_whose_configuration_cannot_be_loaded() {
    if !ready() {
        return;
    }
    let history = History::initial();
    let good = history.head();
    history.docs("docs 1");
    let pyproject = std::fs::read_to_string(history.path().join("pyproject.toml")).unwrap();
    history.project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\njbos = 2\n"));
    history.project.git(&["commit", "-q", "-am", "config: a typo"]);
    let typo = history.head();
    history.docs("docs 2");
    history.project.write("pyproject.toml", &pyproject);
    history.project.git(&["commit", "-q", "-am", "config: fixed"]);
    let lint = history.add_lint();
    let before = user_state(history.path());

    let (result, json) = history.bisect_ruff_check(&good);
    assert_eq!(json["checks"][0]["first_bad"]["sha"], lint.as_str(), "{}", result.output());
    let tested = json["tested"].as_array().unwrap();
    let skipped = tested.iter().find(|commit| commit["commit"] == typo.as_str()).expect("the typo commit was probed");
    assert_eq!(skipped["untestable"][0], "ruff-check", "{}", result.output());
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn bisect_over_64_commits_takes_seconds() {
    if !ready() {
        return;
    }
    let history = History::initial();
    let good = history.head();
    let mut lint = String::new();
    for index in 1..=64 {
        if index == 41 {
            lint = history.add_lint();
        } else {
            history.docs(&format!("docs {index}"));
        }
    }
    let started = Instant::now();
    let (_, json) = history.bisect_ruff_check(&good);
    let elapsed = started.elapsed();
    assert_eq!(json["checks"][0]["first_bad"]["sha"], lint.as_str());
    assert_eq!(json["commits"], 64);
    let runs = json["runs"].as_u64().unwrap();
    assert!(runs <= 8, "good, bad and at most 6 probes: {runs}");
    // Measured, not asserted (timings belong to `cargo xtask bench`).
    eprintln!("bisect over 64 commits with ruff-check: {runs} runs in {:.2}s", elapsed.as_secs_f64());
}

/// Runs on other commits share the user's result cache: bisecting again replays every run
/// (the endpoints and each probe), and finds the same commit; within one bisection a probe
/// whose files ruff reads equal those of a commit already run replays too.
#[test]
fn a_second_bisect_replays_every_run() {
    if !ready() {
        return;
    }
    let history = History::initial();
    let good = history.head();
    for index in 1..=6 {
        if index == 4 {
            history.add_lint();
        } else {
            history.docs(&format!("docs {index}"));
        }
    }
    let (first, json) = history.bisect_ruff_check(&good);
    // The endpoints run; a probe whose Python files equal a commit already run replays.
    let endpoints = first.stderr.lines().filter(|line| line.starts_with("bad ") || line.starts_with("good "));
    assert!(
        endpoints.clone().count() == 2 && endpoints.clone().all(|line| !line.contains("(cached)")),
        "{}",
        first.output()
    );
    let (second, again) = history.bisect_ruff_check(&good);
    assert_eq!(again["checks"][0]["first_bad"], json["checks"][0]["first_bad"]);
    let replayed = second.stderr.lines().filter(|line| line.contains(" (cached)")).count() as u64;
    assert_eq!(replayed, json["runs"].as_u64().unwrap(), "{}", second.output());
}

/// A fake ruff committed to the repository: `ruff check` hangs when HEAD's subject contains
/// `slow` (writing its pid to `marker`); everything else runs the real ruff.
fn slow_ruff_history(marker: &Path) -> History {
    let mut history = History::new();
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = check ]; then\n  case \"$(git log -1 --format=%s)\" in\n    *slow*) echo $$ > '{}'; sleep 300 & wait ;;\n  esac\nfi\nexec ruff \"$@\"\n",
        marker.display()
    );
    history.project.write("fake-ruff", &script);
    std::fs::set_permissions(history.path().join("fake-ruff"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let pyproject = std::fs::read_to_string(history.path().join("pyproject.toml")).unwrap();
    history
        .project
        .write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.tools]\nruff = {{ path = \"fake-ruff\" }}\n"));
    history.commit("tools: a slow ruff", "slow");
    history
}

/// Sends SIGINT once `marker` exists and expects exit 130 within 30 seconds.
fn interrupt_when_started(mut child: std::process::Child, marker: &Path) -> String {
    let started = wait_for(Duration::from_secs(60), || marker.is_file());
    if !started {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "the slow tool never started\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let status = greenlight_e2e::interrupt(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(status.code(), Some(130), "{text}");
    let pid = std::fs::read_to_string(marker).unwrap();
    assert!(greenlight_e2e::gone(&pid), "the slow tool outlived Ctrl-C");
    text
}

#[test]
fn ctrl_c_during_run_rev_removes_the_worktree() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("slow.pid");
    let history = slow_ruff_history(&marker);
    let before = user_state(history.path());
    let child =
        spawn_greenlight(history.path(), &["run", "--rev", "main", "ruff-check", "--no-progress", "--json", "r.json"]);
    interrupt_when_started(child, &marker);
    let report = read_report(&history.path().join("r.json"));
    assert!(report.interrupted);
    assert_eq!(report.check("ruff-check").unwrap().outcome, Outcome::Cancelled);
    std::fs::remove_file(history.path().join("r.json")).unwrap();
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn ctrl_c_during_bisect_leaves_everything_as_it_was() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("slow.pid");
    let history = slow_ruff_history(&marker);
    let before = user_state(history.path());
    // The bad commit is the one where ruff hangs: Ctrl-C lands in its first run.
    let good = history.sha("good").to_string();
    let bad = history.sha("slow").to_string();
    let child = spawn_greenlight(history.path(), &["bisect", "--good", &good, "--bad", &bad, "--check", "ruff-check"]);
    let output = interrupt_when_started(child, &marker);
    assert!(output.contains("interrupted"), "{output}");
    assert_eq!(user_state(history.path()), before);
}

#[test]
fn ctrl_c_during_hotfix_leaves_no_branch_behind() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("slow.pid");
    let history = slow_ruff_history(&marker);
    // The revert's subject (`Revert "docs: slow down"`) makes the fake ruff hang on the
    // hotfix branch, after the branch was created; main itself fails ruff-check (the lint).
    // The commit changes a file ruff reads, so the branch's run is not main's, replayed.
    history.project.write("docs/speed.py", "SLOW = True\n");
    history.project.git(&["add", "-A"]);
    history.project.git(&["commit", "-q", "-m", "docs: slow down"]);
    let target = history.head();
    history.docs("docs 6");
    let before = user_state(history.path());
    let child = spawn_greenlight(history.path(), &["hotfix", "--revert", &target, "--check", "ruff-check"]);
    interrupt_when_started(child, &marker);
    assert_eq!(user_state(history.path()), before, "no worktree and no branch left");
}

// ---------------------------------------------------------------------------------------------
// policy

fn policy_project() -> TempProject {
    let project = TempProject::fixture("clean-service");
    project.git_init();
    project
}

fn policy(project: &TempProject, body: &str, extra: &[&str]) -> (greenlight_e2e::RunResult, RunReport) {
    project.write(".greenlight/body.md", body);
    let mut args = vec!["policy", "--pr-body", ".greenlight/body.md", "--json", ".greenlight/policy.json"];
    args.extend_from_slice(extra);
    let result = project.run(&args);
    let report = read_report(&project.path().join(".greenlight/policy.json"));
    (result, report)
}

fn rules(report: &RunReport) -> Vec<String> {
    let mut rules: Vec<String> =
        report.check("policy").unwrap().findings.iter().map(|finding| finding.rule.clone()).collect();
    rules.sort();
    rules
}

#[test]
fn policy_reports_each_violation_with_how_to_fix_it() {
    let project = policy_project();
    let (result, report) = policy(&project, GOOD_BODY, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(report.check("policy").unwrap().outcome, Outcome::Passed);

    // CRLF line endings and surrounding whitespace do not matter.
    let crlf: String = GOOD_BODY.lines().map(|line| format!("  {line}\t\r\n")).collect();
    let (result, _) = policy(&project, &crlf, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());

    let cases: &[(&str, &str, &str, &str)] = &[
        ("[QA]\n", "", "missing-section", "`[QA]`"),
        ("MILESTONE_ID: M-42\n", "", "missing-key", "`MILESTONE_ID:`"),
        ("PR_TYPE: FIX", "PR_TYPE: WIP", "refused-pr-type", "halts automation"),
        ("AUTO_RUN_MODE: MANUAL", "AUTO_RUN_MODE: GUIDED", "conditional-key", "`AUTHORIZATION_REASON:`"),
        ("MILESTONE_ID: M-42", "MILESTONE_ID: PR-###", "placeholder-value", "placeholder"),
        ("BLUEPRINT_REF: docs/blueprints/health.md", "BLUEPRINT_REF: <link>", "placeholder-value", "template slot"),
    ];
    for (from, to, rule, text) in cases {
        let body = GOOD_BODY.replace(from, to).replace('\n', "\r\n");
        let (result, report) = policy(&project, &body, &[]);
        assert_eq!(result.code, Some(1), "{rule}\n{}", result.output());
        let found = rules(&report);
        assert!(found.contains(&rule.to_string()), "{rule}: {found:?}");
        assert!(result.stdout.contains(text), "{rule}\n{}", result.output());
        assert!(result.stdout.contains("help: "), "every violation says how to fix it\n{}", result.output());
    }
    let guided = GOOD_BODY.replace(
        "AUTO_RUN_MODE: MANUAL",
        "AUTO_RUN_MODE: GUIDED\nAUTHORIZATION_REASON: outage 12\nAUTHORIZED_BY: @lead",
    );
    let (result, _) = policy(&project, &guided, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let (result, report) = policy(&project, "", &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rules(&report).len(), 8, "four sections and four keys: {:?}", rules(&report));
}

#[test]
fn policy_path_rules_use_the_merge_base_and_the_allowlists() {
    let project = policy_project();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &format!(
            "{pyproject}\n[tool.greenlight.policy]\nforbidden-paths = [\"infra/\", \".github/workflows/\"]\nrequired-paths = [\"docs/evidence/INDEX.md\"]\n\n[[tool.greenlight.policy.allow]]\nlabels = [\"infra-change\"]\npaths = [\"infra/**\"]\n\n[[tool.greenlight.policy.allow]]\nauthors = [\"release-bot\"]\nskip-required-paths = true\n"
        ),
    );
    project.write("docs/evidence/INDEX.md", "# Evidence\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "policy"]);
    project.git(&["switch", "-q", "-c", "change"]);
    project.write("infra/prod.tf", "resource {}\n");
    project.write(".github/workflows/ci.yml", "on: push\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "infra"]);
    // main moves on after the branch point: only the branch's own changes count.
    project.git(&["switch", "-q", "main"]);
    project.write("docs/evidence/INDEX.md", "# Evidence\n- main\n");
    project.git(&["commit", "-q", "-am", "evidence on main"]);
    project.git(&["switch", "-q", "change"]);

    let (result, report) = policy(&project, GOOD_BODY, &["--base", "main"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    assert_eq!(rules(&report), ["forbidden-path", "forbidden-path", "missing-required-path"], "{}", result.output());
    let paths: Vec<String> = report
        .check("policy")
        .unwrap()
        .findings
        .iter()
        .filter_map(|finding| finding.location.as_ref().map(|location| location.path.clone()))
        .collect();
    assert_eq!(paths, [".github/workflows/ci.yml", "infra/prod.tf"]);

    let (_, report) = policy(&project, GOOD_BODY, &["--base", "main", "--label", "infra-change"]);
    assert_eq!(rules(&report), ["forbidden-path", "missing-required-path"]);
    let (_, report) = policy(&project, GOOD_BODY, &["--base", "main", "--author", "release-bot"]);
    assert_eq!(rules(&report), ["forbidden-path", "forbidden-path"]);

    // Without a base the path rules cannot be checked: never `passed`.
    let (result, report) = policy(&project, GOOD_BODY, &[]);
    assert_eq!(result.code, Some(2), "{}", result.output());
    let check = report.check("policy").unwrap();
    assert_eq!(check.outcome, Outcome::Errored);
    assert!(check.reason.as_deref().unwrap().contains("--pr-base"), "{check:?}");

    project.git(&["rm", "-q", "-r", "infra", ".github"]);
    project.write("docs/evidence/INDEX.md", "# Evidence\n- change\n");
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "evidence"]);
    let (result, _) = policy(&project, GOOD_BODY, &["--base", "main"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
}

#[test]
fn policy_in_the_pipeline_reads_the_github_event_or_is_skipped() {
    let project = policy_project();
    let result = project.run_checks(&["policy"]);
    let check = result.report().check("policy").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Skipped, "{}", result.output());
    assert!(check.reason.as_deref().unwrap().contains("--pr-body"), "{check:?}");

    let event = serde_json::json!({
        "pull_request": {
            "title": "FIX: health",
            "body": GOOD_BODY.replace('\n', "\r\n").replace("PR_TYPE: FIX", "PR_TYPE: WIP"),
            "user": {"login": "octocat"},
            "labels": [{"name": "bug"}],
            "base": {"sha": project.git(&["rev-parse", "HEAD"]).trim()}
        }
    });
    project.write(".greenlight/event.json", &event.to_string());
    let event_path = project.path().join(".greenlight/event.json").display().to_string();
    let result = run_greenlight(
        project.path(),
        &["run", "policy", "--no-progress", "--json", ".greenlight/r.json"],
        &[("GITHUB_EVENT_PATH", event_path.as_str()), ("GITHUB_EVENT_NAME", "pull_request")],
    );
    assert_eq!(result.code, Some(1), "{}", result.output());
    let report = read_report(&project.path().join(".greenlight/r.json"));
    assert_eq!(rules(&report), ["refused-pr-type"]);

    project.write(".greenlight/push.json", r#"{"ref": "refs/heads/main"}"#);
    let push_path = project.path().join(".greenlight/push.json").display().to_string();
    let result = run_greenlight(
        project.path(),
        &["run", "policy", "--no-progress", "--json", ".greenlight/r.json"],
        &[("GITHUB_EVENT_PATH", push_path.as_str()), ("GITHUB_EVENT_NAME", "push")],
    );
    assert_eq!(result.code, Some(0), "{}", result.output());
    let report = read_report(&project.path().join(".greenlight/r.json"));
    assert_eq!(report.check("policy").unwrap().outcome, Outcome::Skipped);

    project.write(".greenlight/body.md", GOOD_BODY);
    let result = project.run_checks(&["policy", "--pr-body", ".greenlight/body.md"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    assert_eq!(result.report().check("policy").unwrap().outcome, Outcome::Passed);
}
