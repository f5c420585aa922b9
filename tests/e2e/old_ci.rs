//! Reproducing old CI exactly: ruff-format and ruff-check agree with the real `ruff format
//! --check` and `ruff check` of old releases; `--as-of commit` judges each commit of a history
//! dated in the past by the tools released before its date, as the same tools pinned by hand
//! do, and bisects to the commit `git bisect run` names with those pins; pinned old pytest and
//! pip-audit work. The old releases come from PyPI into the user cache once (the tests' own
//! pins under `pinned-tools/`, greenlight's under `tools/`) and are reused by later runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use greenlight_e2e::{TempProject, pinned_tool, release_as_of, require_tool, run_greenlight, tools_path};
use greenlight_report::{Outcome, RunReport};

/// The releases the formatter must agree with: before JSON (0.4, 0.9, 0.14) and greenlight's
/// default (the `ruff` of `cargo xtask setup`).
const RUFF_RELEASES: &[&str] = &["0.4.10", "0.9.10", "0.14.10", "0.17.6"];

fn ready() -> bool {
    require_tool("uv") && require_tool("ruff") && require_tool("python3")
}

/// `greenlight ARGS --json <file>` in `dir` (a `run`), with the report.
fn run_with_report(dir: &Path, args: &[&str]) -> (greenlight_e2e::RunResult, RunReport) {
    let report = tempfile::NamedTempFile::new().unwrap();
    let path = report.path().display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--no-progress", "--json", &path]);
    let result = run_greenlight(dir, &all, &[]);
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let parsed = serde_json::from_str(&text).unwrap_or_else(|error| panic!("no report ({error})\n{}", result.output()));
    (result, parsed)
}

/// Runs `program ARGS` in `dir` and returns (exit code, stdout, stderr).
fn run_tool(program: &Path, args: &[&str], dir: &Path) -> (i32, String, String) {
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("RUFF_CACHE_DIR", cache.path())
        .env("PATH", tools_path())
        .output()
        .unwrap_or_else(|error| panic!("{}: {error}", program.display()));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The files `ruff format --check` names, from its text in any release: `Would reformat: X`,
/// `error: Failed to parse X:row:col: ...`, and 0.16's ` --> X:row:col`.
fn files_ruff_names(stdout: &str, stderr: &str) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for line in stdout.lines().chain(stderr.lines()) {
        let line = line.trim();
        let named = line
            .strip_prefix("Would reformat: ")
            .map(str::to_string)
            .or_else(|| line.strip_prefix("error: Failed to parse ").and_then(file_of_place))
            .or_else(|| line.strip_prefix("--> ").and_then(file_of_place));
        if let Some(file) = named {
            files.insert(file);
        }
    }
    files
}

/// `x.py:1:7: message` or `x.py:1:7` → `x.py`.
fn file_of_place(text: &str) -> Option<String> {
    let mut parts = text.split(':');
    let file = parts.next()?;
    parts.next()?.parse::<u32>().ok()?;
    Some(file.to_string())
}

fn check<'a>(report: &'a RunReport, id: &str) -> &'a greenlight_report::CheckReport {
    report.check(id).unwrap_or_else(|| panic!("no {id} in the report"))
}

fn finding_files(report: &RunReport, id: &str) -> BTreeSet<String> {
    check(report, id).findings.iter().filter_map(|f| f.location.as_ref().map(|l| l.path.clone())).collect()
}

/// ruff-format agrees with `ruff format --check` for ruff 0.4, 0.9, 0.14 and today's, on the
/// formatted, the unformatted and the syntax-error fixtures: the same verdict and the same
/// files; and ruff-check with `ruff check` (the same number of diagnostics, the same verdict).
#[test]
fn ruff_format_agrees_with_ruff_format_check_for_ruff_0_4_0_9_0_14_and_todays() {
    if !ready() {
        return;
    }
    let fixtures = ["clean-service", "unformatted", "syntax-error"];
    let mut seen = BTreeSet::new();
    for version in RUFF_RELEASES {
        for fixture in fixtures {
            let project = TempProject::fixture(fixture);
            let (result, report) = run_with_report(
                project.path(),
                &["run", "ruff-format", "ruff-check", "--no-cache", "--tool", &format!("ruff={version}")],
            );
            let ruff = report.tools.get("ruff").unwrap_or_else(|| panic!("{}", result.output()));
            assert_eq!(&ruff.version, version, "{}", result.output());
            let binary = PathBuf::from(&ruff.path);

            let format = check(&report, "ruff-format");
            let (code, stdout, stderr) = run_tool(&binary, &["format", "--check", "."], project.path());
            let agreed = match code {
                0 => format.outcome == Outcome::Passed,
                1 | 2 => format.outcome == Outcome::Failed,
                _ => false,
            };
            let context = format!(
                "ruff {version} on {fixture}: `ruff format --check` exited {code}\n{stdout}{stderr}\ngreenlight: {format:?}"
            );
            assert!(agreed, "{context}");
            assert_eq!(finding_files(&report, "ruff-format"), files_ruff_names(&stdout, &stderr), "{context}");

            let lint = check(&report, "ruff-check");
            let (code, stdout, _) =
                run_tool(&binary, &["check", "--no-cache", "--output-format", "json", "."], project.path());
            let diagnostics: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
            let expected = if code == 0 { Outcome::Passed } else { Outcome::Failed };
            assert_eq!(lint.outcome, expected, "ruff {version} on {fixture}: ruff check exited {code}; {lint:?}");
            assert_eq!(lint.findings.len(), diagnostics.len(), "ruff {version} on {fixture}: {lint:?}\n{stdout}");
            seen.insert((fixture, format.outcome));
        }
    }
    // The fixtures are what they say for every release.
    assert!(seen.contains(&("clean-service", Outcome::Passed)), "{seen:?}");
    assert!(seen.contains(&("unformatted", Outcome::Failed)), "{seen:?}");
    assert!(!seen.iter().any(|(_, outcome)| *outcome == Outcome::Errored), "{seen:?}");
}

/// A service that pins nothing, committed on dates in the past:
///
/// ```text
/// 2025-06-02 initial ─ 2025-09-16 docs ─ 2025-12-29 util (unused import) ─ 2026-02-26 docs ─ 2026-08-05 docs (main)
/// ```
///
/// Its `datetime.timezone.utc` is clean under every ruff of those days (0.11 to 0.16) but not
/// under today's 0.17 (UP017: its default target is Python 3.11), so today's ruff fails even
/// the first commit; the unused import fails from 2025-12-29 under every release.
pub(crate) struct DatedHistory {
    pub(crate) project: TempProject,
    /// (sha, committer date), oldest first.
    pub(crate) commits: Vec<(String, String)>,
}

pub(crate) const DATES: &[(&str, &str)] = &[
    ("initial", "2025-06-02T10:00:00Z"),
    ("docs: the health endpoint", "2025-09-16T10:00:00Z"),
    ("util: parse payloads", "2025-12-29T12:00:00Z"),
    ("docs: payloads", "2026-02-26T10:00:00Z"),
    ("docs: deployment", "2026-08-05T10:00:00Z"),
];

/// The index of the commit that breaks ruff-check under every release.
pub(crate) const FIRST_BAD: usize = 2;

impl DatedHistory {
    pub(crate) fn new() -> Self {
        let project = TempProject::empty();
        project.write("pyproject.toml", "[project]\nname = \"svc\"\nversion = \"0.1.0\"\n");
        project.write(
            "app/main.py",
            "\"\"\"The service.\"\"\"\n\nimport datetime\n\n\ndef now() -> datetime.datetime:\n    \"\"\"The time of the request.\"\"\"\n    return datetime.datetime.now(datetime.timezone.utc)\n",
        );
        project.write("app/__init__.py", "");
        project.write("docs/notes.md", "# Notes\n");
        project.git(&["init", "-q", "-b", "main"]);
        let mut commits = Vec::new();
        for (index, (subject, date)) in DATES.iter().enumerate() {
            if index == FIRST_BAD {
                project.write(
                    "app/util.py",
                    "\"\"\"Payloads.\"\"\"\n\nimport json\n\n\ndef size(payload: bytes) -> int:\n    \"\"\"Its size.\"\"\"\n    return len(payload)\n",
                );
            } else if index > 0 {
                let notes = std::fs::read_to_string(project.path().join("docs/notes.md")).unwrap();
                project.write("docs/notes.md", &format!("{notes}- {subject}\n"));
            }
            commits.push((project.commit_at(subject, date), date.to_string()));
        }
        Self { project, commits }
    }

    pub(crate) fn path(&self) -> &Path {
        self.project.path()
    }

    /// The ruff a CI that pinned nothing installed on the day of commit `index`.
    fn ruff_of_the_day(&self, index: usize) -> String {
        release_as_of("ruff", &self.commits[index].1)
    }

    /// Commit `index` exported into a directory, as a CI checkout has it.
    fn checkout(&self, index: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let archive =
            Command::new("git").args(["archive", &self.commits[index].0]).current_dir(self.path()).output().unwrap();
        assert!(archive.status.success());
        let mut tar =
            Command::new("tar").arg("-x").current_dir(dir.path()).stdin(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(tar.stdin.as_mut().unwrap(), &archive.stdout).unwrap();
        drop(tar.stdin.take());
        assert!(tar.wait().unwrap().success());
        dir
    }
}

/// With `--as-of commit`, greenlight's verdict on each commit (ruff-check, ruff-format) is the
/// verdict of the ruff released before that commit's date, pinned and run by hand; the report
/// says which release, installed as of when, from which commit's date.
#[test]
fn as_of_commit_verdicts_equal_those_of_the_tools_pinned_to_each_commits_day() {
    if !ready() {
        return;
    }
    let history = DatedHistory::new();
    let mut verdicts = Vec::new();
    for (index, (sha, date)) in history.commits.iter().enumerate() {
        let version = history.ruff_of_the_day(index);
        let ruff = pinned_tool("ruff", &version).join("ruff");
        let checkout = history.checkout(index);
        let (lint, _, _) = run_tool(&ruff, &["check", "--no-cache", "."], checkout.path());
        let (format, _, _) = run_tool(&ruff, &["format", "--check", "--no-cache", "."], checkout.path());

        let (result, report) =
            run_with_report(history.path(), &["run", "--rev", sha, "ruff-check", "ruff-format", "--as-of", "commit"]);
        let context = format!("commit {index} ({date}), ruff {version}\n{}", result.output());
        let tool = &report.tools["ruff"];
        assert_eq!((tool.version.as_str(), tool.source.as_str()), (version.as_str(), "provisioned"), "{context}");
        // Installed as a pin of that release is: one install per release, whatever the date.
        assert!(tool.path.contains(&format!("/tools/ruff-{version}/")), "{context}");
        let moment = report.as_of.as_ref().expect("the report records the moment");
        assert_eq!((moment.source.as_str(), moment.commit.as_deref()), ("commit", Some(sha.as_str())), "{context}");
        assert_eq!(Some(&moment.date), tool.as_of.as_ref(), "{context}");
        assert_eq!(moment.date, *date, "{context}");
        let expected = |code: i32| if code == 0 { Outcome::Passed } else { Outcome::Failed };
        assert_eq!(check(&report, "ruff-check").outcome, expected(lint), "ruff-check: {context}");
        assert_eq!(check(&report, "ruff-format").outcome, expected(format), "ruff-format: {context}");
        verdicts.push(check(&report, "ruff-check").outcome);
    }
    // The history is what it says: green under the ruff of its day until the unused import.
    let expected: Vec<Outcome> =
        (0..DATES.len()).map(|index| if index < FIRST_BAD { Outcome::Passed } else { Outcome::Failed }).collect();
    assert_eq!(verdicts, expected);
    // A pin wins over the moment.
    let (result, report) = run_with_report(
        history.path(),
        &["run", "--rev", &history.commits[0].0, "ruff-check", "--as-of", "commit", "--tool", "ruff=0.9.10"],
    );
    assert_eq!(
        (report.tools["ruff"].version.as_str(), report.tools["ruff"].as_of.as_ref()),
        ("0.9.10", None),
        "{}",
        result.output()
    );
    // Today's ruff fails the first commit, which the ruff of its day passed.
    let (result, report) = run_with_report(history.path(), &["run", "--rev", &history.commits[0].0, "ruff-check"]);
    assert_eq!(check(&report, "ruff-check").outcome, Outcome::Failed, "{}", result.output());
    assert!(check(&report, "ruff-check").findings.iter().any(|f| f.rule == "UP017"), "{}", result.output());
}

/// `bisect --as-of commit` names the commit `git bisect run` names with each commit's ruff
/// pinned by hand; without it, today's ruff fails the good commit and there is nothing to
/// bisect.
#[test]
fn bisect_as_of_commit_names_the_commit_git_bisect_run_names_with_pinned_tools() {
    if !ready() {
        return;
    }
    let history = DatedHistory::new();
    let (good, bad) = (&history.commits[0].0, &history.commits[DATES.len() - 1].0);

    // git bisect run, in a clone, with each commit's ruff chosen by the script.
    let oracle = tempfile::tempdir().unwrap();
    greenlight_e2e::git(oracle.path(), &["clone", "-q", &history.path().display().to_string(), "repo"]);
    let repo = oracle.path().join("repo");
    let mut map = String::new();
    for (index, (sha, _)) in history.commits.iter().enumerate() {
        let ruff = pinned_tool("ruff", &history.ruff_of_the_day(index)).join("ruff");
        map.push_str(&format!("{sha} {}\n", ruff.display()));
    }
    std::fs::write(oracle.path().join("map"), map).unwrap();
    let script = oracle.path().join("check.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nruff=$(grep \"^$(git rev-parse HEAD) \" {} | cut -d' ' -f2)\nRUFF_CACHE_DIR=$(mktemp -d) exec \"$ruff\" check --no-cache --quiet .\n",
            oracle.path().join("map").display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    greenlight_e2e::git(&repo, &["bisect", "start", bad, good]);
    let bisected = greenlight_e2e::git(&repo, &["bisect", "run", &script.display().to_string()]);
    let git_first_bad = bisected
        .lines()
        .find_map(|line| line.strip_suffix(" is the first bad commit"))
        .unwrap_or_else(|| panic!("git bisect run named no commit:\n{bisected}"))
        .trim()
        .to_string();
    assert_eq!(git_first_bad, history.commits[FIRST_BAD].0);

    // greenlight, with the tools of each probed commit's day.
    let json = history.path().join(".greenlight/bisect.json");
    let json_arg = json.display().to_string();
    let result = run_greenlight(
        history.path(),
        &["bisect", "--good", good, "--bad", "main", "--check", "ruff-check", "--as-of", "commit", "--json", &json_arg],
        &[],
    );
    assert_eq!(result.code, Some(0), "{}", result.output());
    let bisection: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(bisection["first_bad"]["sha"], git_first_bad.as_str(), "{}", result.output());

    // With today's ruff, the good commit already fails.
    let result =
        run_greenlight(history.path(), &["bisect", "--good", good, "--bad", "main", "--check", "ruff-check"], &[]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("already fails at --good"), "{}", result.output());
}

/// `--as-of DATE` installs the project environment as of that day (`uv --exclude-newer`):
/// pytest and ruff from an unpinned dev extra (`pip install -e ".[dev]"` in CI) are that day's
/// releases, the environment's summary says so, and `--tools-from` of that report pins the
/// same versions and takes up the same moment for the environment.
#[test]
fn as_of_installs_the_environment_of_that_day_and_tools_from_takes_it_up() {
    if !ready() {
        return;
    }
    let moment = "2024-01-15T00:00:00Z";
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    assert!(pyproject.contains("dev = [\"pytest>=7\"]"), "clean-service's dev extra");
    project.write("pyproject.toml", &pyproject.replace("dev = [\"pytest>=7\"]", "dev = [\"pytest\", \"ruff\"]"));
    let (result, report) = run_with_report(project.path(), &["run", "pytest", "ruff-check", "--as-of", "2024-01-15"]);
    let context = result.output();
    let pytest = &report.tools["pytest"];
    assert_eq!(pytest.version, release_as_of("pytest", moment), "{context}");
    assert_eq!(pytest.source, "environment", "{context}");
    let ruff = &report.tools["ruff"];
    let day = release_as_of("ruff", moment);
    assert_eq!((ruff.version.as_str(), ruff.source.as_str()), (day.as_str(), "environment"), "{context}");
    let (code, _, _) = run_tool(&pinned_tool("ruff", &day).join("ruff"), &["check", "--no-cache", "."], project.path());
    let lint = check(&report, "ruff-check").outcome;
    assert_eq!(lint, if code == 0 { Outcome::Passed } else { Outcome::Failed }, "{context}");
    let environment = check(&report, "environment");
    assert!(environment.summary.ends_with(&format!("as of {moment}")), "{environment:?}");
    assert!(environment.command.as_ref().unwrap().iter().any(|arg| arg == "--exclude-newer"), "{environment:?}");
    assert_eq!(report.as_of.as_ref().map(|as_of| (as_of.date.as_str(), as_of.source.as_str())), Some((moment, "date")));
    assert_eq!(check(&report, "pytest").outcome, Outcome::Passed, "{context}");

    let saved = project.path().join(".greenlight/as-of.json");
    std::fs::write(&saved, serde_json::to_string(&report).unwrap()).unwrap();
    let saved_arg = saved.display().to_string();
    let (result, again) = run_with_report(project.path(), &["run", "pytest", "--tools-from", &saved_arg]);
    assert_eq!(again.tools["pytest"].version, pytest.version, "{}", result.output());
    assert_eq!(again.as_of.as_ref().map(|as_of| as_of.source.as_str()), Some("report"), "{}", result.output());
    let environment = check(&again, "environment");
    assert!(environment.summary.ends_with(&format!("as of {moment}")), "{environment:?}");
}

/// `--tool` pins for one run (over the configuration), and an unknown tool is a usage error
/// naming the tools; pytest 7 and pip-audit 2.6 (no `--osv-url`, no `--aliases`) run as the
/// current releases do, the latter against the offline advisory database.
#[test]
fn tool_pins_old_pytest_and_pip_audit_which_work_as_the_current_ones() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let result = run_greenlight(project.path(), &["run", "--tool", "rufff=0.1"], &[]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("no tool `rufff`") && result.stderr.contains("`ruff`, `uv`"), "{}", result.output());

    // Nothing is installed with `provision = false`: an unpinned tool cannot be as of a day.
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight]\nprovision = false\n"));
    let (result, report) = run_with_report(project.path(), &["run", "ruff-check", "--as-of", "2025-06-01"]);
    let lint = check(&report, "ruff-check");
    assert_eq!(lint.outcome, Outcome::Errored, "{}", result.output());
    assert!(lint.reason.as_deref().unwrap_or_default().contains("`provision = false`"), "{lint:?}");

    let failing = TempProject::fixture("failing-test");
    let (result, report) = run_with_report(failing.path(), &["run", "pytest", "--tool", "pytest=7.4.4"]);
    assert_eq!(report.tools["pytest"].version, "7.4.4", "{}", result.output());
    greenlight_e2e::Expected::load("failing-test")
        .assert_matches(&greenlight_e2e::RunResult { report: Some(report), ..result });

    let db = greenlight_e2e::workspace().join("fixtures/advisory-db").display().to_string();
    let vulnerable = TempProject::fixture("vulnerable-deps");
    let (result, report) =
        run_with_report(vulnerable.path(), &["run", "pip-audit", "--tool", "pip-audit=2.6.3", "--advisory-db", &db]);
    assert_eq!(report.tools["pip-audit"].version, "2.6.3", "{}", result.output());
    let command = check(&report, "pip-audit").command.clone().unwrap_or_default();
    assert!(!command.iter().any(|arg| arg == "--osv-url" || arg == "--aliases"), "{command:?}");
    greenlight_e2e::Expected::load("vulnerable-deps")
        .assert_matches(&greenlight_e2e::RunResult { report: Some(report.clone()), ..result });
    let finding = check(&report, "pip-audit").findings.iter().find(|f| f.rule == "PYSEC-2018-28").unwrap();
    assert!(finding.aliases.contains(&"CVE-2018-18074".to_string()), "aliases from the database: {finding:?}");
}

/// `--config FILE` is the configuration at every revision of `run --rev`; a greenlight.toml in
/// the checkout that the revision does not have is named, and used only with `--config`.
#[test]
fn config_applies_at_every_revision_and_an_uncommitted_one_is_named() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("lint-errors");
    project.git_init();
    project.write("greenlight.toml", "[ruff-check]\nenabled = false\n");
    let (result, report) = run_with_report(project.path(), &["run", "--rev", "HEAD", "ruff-check"]);
    assert_eq!(check(&report, "ruff-check").outcome, Outcome::Failed, "{}", result.output());
    assert!(result.stderr.contains("your greenlight.toml is not the one committed at `HEAD`"), "{}", result.output());
    assert!(result.stderr.contains("--config greenlight.toml"), "{}", result.output());

    let (result, report) =
        run_with_report(project.path(), &["run", "--rev", "HEAD", "ruff-check", "--config", "greenlight.toml"]);
    let lint = check(&report, "ruff-check");
    assert_eq!(lint.outcome, Outcome::Skipped, "{}", result.output());
    assert!(lint.reason.as_deref().unwrap_or_default().contains("disabled"), "{lint:?}");
    assert!(!result.stderr.contains("not the one committed"), "{}", result.output());

    let result = run_greenlight(project.path(), &["run", "--config", "nope.toml"], &[]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("--config nope.toml"), "{}", result.output());
}

/// Tests that cannot import a module the project's `test` extra provides (greenlight installs
/// `dev`) fail with the extra named and the key that selects it.
#[test]
fn a_module_from_another_extra_is_named_with_the_key_that_selects_it() {
    if !ready() {
        return;
    }
    let project = TempProject::empty();
    project.write(
        "pyproject.toml",
        "[project]\nname = \"svc\"\nversion = \"0.1.0\"\n\n[project.optional-dependencies]\ndev = [\"pytest\"]\ntest = [\"pytest\", \"httpx\"]\n\n[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[tool.setuptools]\npackages = [\"svc\"]\n",
    );
    project.write("svc/__init__.py", "");
    project.write("tests/test_client.py", "import httpx\n\n\ndef test_client() -> None:\n    assert httpx\n");
    let (result, report) = run_with_report(project.path(), &["run", "pytest"]);
    let pytest = check(&report, "pytest");
    assert_eq!(pytest.outcome, Outcome::Failed, "{}", result.output());
    let reason = pytest.reason.as_deref().unwrap_or_default();
    assert!(reason.contains("the tests import `httpx`, which the `test` extra of pyproject.toml provides"), "{reason}");
    assert!(reason.contains("[tool.greenlight.environment] extras = [\"dev\", \"test\"]"), "{reason}");
}

/// An environment made with pip that cannot filter by upload time (pip before 25.3) has
/// today's packages, and its summary says so and what would do it.
#[test]
fn as_of_with_a_pip_that_cannot_says_so() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("clean-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.environment]\ninstaller = \"pip\"\n"));
    let (result, report) = run_with_report(project.path(), &["run", "pytest", "--as-of", "2024-01-15"]);
    let environment = check(&report, "environment");
    assert_eq!(environment.outcome, Outcome::Passed, "{}", result.output());
    let pip = Command::new(project.path().join(".greenlight/venv/bin/python"))
        .args(["-m", "pip", "install", "--help"])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&pip.stdout).contains("--uploaded-prior-to") {
        assert!(environment.summary.ends_with("as of 2024-01-15T00:00:00Z"), "{environment:?}");
    } else {
        assert!(
            environment.summary.contains("not as of 2024-01-15T00:00:00Z: this pip has no `--uploaded-prior-to`"),
            "{environment:?}"
        );
        assert!(environment.summary.contains("installer = \"uv\""), "{environment:?}");
    }
}
