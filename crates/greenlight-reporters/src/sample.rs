//! A sample report with every outcome and every kind of finding, for snapshot tests of every
//! format (and for trying a renderer by hand).
//!
//! Everything in it is fixed (times, durations, ids), so renderings are byte-for-byte stable.
//! It is deliberately awkward: unicode, long and multi-line messages, `|` in messages, file
//! names holding commas, colons and percent signs, control characters and ANSI escapes in a
//! traceback, a workflow command in a log, and a subdirectory project (`path_in_repo`).
//! The known checks carry the tool facts their checkers declare; three checks (`bandit`,
//! `mypy`, `semgrep`) carry none, as in a report written before checkers declared them, so
//! renderers' fallbacks ([`ToolFacts::unknown`]) are covered too.

use std::collections::BTreeMap;

use greenlight_report::{
    Artifact, CheckReport, CommitRef, Finding, FindingKind, Location, LogRef, NodeKind, Outcome, PackageRef,
    ProjectInfo, RunReport, Severity, TestCase, TestOutcome, TestSummary, ToolFacts, ToolInfo, fingerprint,
};

/// The run id of the sample report.
pub const SAMPLE_RUN_ID: &str = "20261126-120000-sample";

/// A fake secret for tests that plant it where a buggy checker could put it; no format may
/// print it. Assembled from pieces so that secret scanners of this repository see none.
pub const PLANTED_SECRET: &str = concat!("AKIA", "PLANTED", "FAKESECRET0");

fn log(id: &str, tail: &str) -> Option<LogRef> {
    Some(LogRef { path: format!(".greenlight/logs/{SAMPLE_RUN_ID}/{id}.log"), tail: tail.to_string() })
}

fn check(id: &str, title: &str, outcome: Outcome, summary: &str, duration_ms: u64) -> CheckReport {
    let mut check = CheckReport::new(id, title, outcome);
    check.summary = summary.to_string();
    check.duration_ms = duration_ms;
    check
}

/// What a checker declares about its tool (see each plugin's `info()`).
fn tool(name: &str, key: Option<&str>, url: Option<&str>, sarif: bool, fallback_path: &str) -> Option<ToolFacts> {
    Some(ToolFacts {
        name: name.to_string(),
        key: key.map(str::to_string),
        url: url.map(str::to_string),
        sarif,
        fallback_path: fallback_path.to_string(),
    })
}

fn argv(words: &[&str]) -> Option<Vec<String>> {
    Some(words.iter().map(|word| word.to_string()).collect())
}

fn located(path: &str, line: u32, column: u32, end_line: u32, end_column: u32) -> Option<Location> {
    Some(Location {
        path: path.to_string(),
        line: Some(line),
        column: Some(column),
        end_line: Some(end_line),
        end_column: Some(end_column),
    })
}

fn lint(rule: &str, message: &str, location: Option<Location>) -> Finding {
    let mut finding = Finding::new(rule, message, location);
    finding.url = Some(format!("https://docs.astral.sh/ruff/rules/{}", rule.to_lowercase()));
    finding
}

/// The sample report (see the module documentation).
pub fn sample_report() -> RunReport {
    let mut checks = Vec::new();

    let mut environment = check(
        "environment",
        "project environment",
        Outcome::Passed,
        "created .greenlight/venv with uv (extras: dev)",
        12_300,
    );
    environment.kind = NodeKind::Setup;
    environment.command = argv(&["uv", "pip", "install", "-e", ".[dev]"]);
    environment.exit_code = Some(0);
    environment.log = log("environment", "Resolved 42 packages in 1.20s\nInstalled 42 packages in 310ms");
    checks.push(environment);

    let mut bandit = check("bandit", "bandit", Outcome::Skipped, "skipped: disabled", 0);
    bandit.reason = Some("disabled in [tool.greenlight.bandit]".to_string());
    checks.push(bandit);

    let mut build = check("build", "python -m build", Outcome::Failed, "1 finding", 8_020);
    build.tool = tool("python -m build", Some("build"), Some("https://build.pypa.io/"), true, "pyproject.toml");
    build.command = argv(&["python", "-m", "build", "--outdir", "/tmp/greenlight-x/build"]);
    build.exit_code = Some(0);
    let mut missing = Finding::new(
        "sdist-missing-file",
        "the sdist does not contain `apps/api/static/logo.svg`, which git tracks and the wheel needs",
        None,
    );
    missing.kind = FindingKind::Build;
    missing.help = Some("add it to `[tool.setuptools.package-data]` or MANIFEST.in".to_string());
    build.findings.push(missing);
    build.artifacts.push(Artifact {
        kind: "wheel".to_string(),
        name: "payments_api-1.4.0-py3-none-any.whl".to_string(),
        path: "/tmp/greenlight-x/build/payments_api-1.4.0-py3-none-any.whl".to_string(),
        size: Some(48_213),
        sha256: Some("9f2d4c1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e".to_string()),
    });
    build.log = log(
        "build",
        "* Building sdist...\n* Building wheel from sdist\nSuccessfully built payments_api-1.4.0.tar.gz and payments_api-1.4.0-py3-none-any.whl",
    );
    checks.push(build);

    let mut docker = check("docker", "docker build + smoke test", Outcome::TimedOut, "timed out after 10m", 600_000);
    docker.tool = tool("docker", None, Some("https://docs.docker.com/"), true, "Dockerfile");
    docker.reason = Some(
        "`docker` ran longer than its timeout of 10m and was stopped with everything it started; raise it with [tool.greenlight.docker] timeout = \"...\"".to_string(),
    );
    docker.log = log(
        "docker",
        "Step 5/9 : RUN pip install --no-cache-dir .\n ---> Running in 3f9c2a1b\nCollecting fastapi>=0.110",
    );
    checks.push(docker);

    let mut gitleaks = check("gitleaks", "gitleaks", Outcome::Failed, "1 secret in 1 file", 1_450);
    gitleaks.tool =
        tool("gitleaks", Some("gitleaks"), Some("https://github.com/gitleaks/gitleaks"), true, "pyproject.toml");
    gitleaks.command = argv(&["gitleaks", "detect", "--redact", "--exit-code", "2", "-f", "json"]);
    gitleaks.exit_code = Some(2);
    let mut secret = Finding::new(
        "aws-access-token",
        "AWS: added in commit 4f2c9e1a7b3d (2026-11-20)",
        located("config/settings,prod.py", 2, 22, 2, 42),
    );
    secret.kind = FindingKind::Secret;
    secret.title = Some("gitleaks aws-access-token".to_string());
    secret.fingerprint =
        "4f2c9e1a7b3d5c6e8f90a1b2c3d4e5f6a7b8c9d0:config/settings,prod.py:aws-access-token:2".to_string();
    secret.help =
        Some("revoke the credential, remove it from the history, and add the fingerprint to .gitleaksignore only if it is a false positive".to_string());
    secret.commit = Some(CommitRef {
        sha: "4f2c9e1a7b3d5c6e8f90a1b2c3d4e5f6a7b8c9d0".to_string(),
        short: "4f2c9e1a7b3d".to_string(),
        date: Some("2026-11-20T09:15:00Z".to_string()),
    });
    gitleaks.findings.push(secret);
    gitleaks.log = log("gitleaks", "INF 57 commits scanned.\nINF scan completed in 1.2s\nWRN leaks found: 1");
    checks.push(gitleaks);

    let mut mypy = check("mypy", "mypy", Outcome::Errored, "`mypy` is not installed", 5);
    mypy.reason = Some(
        "`mypy` is not installed: looked in [tool.greenlight.tools], .greenlight/venv/bin and PATH; install it with `pip install mypy` or pin it in [tool.greenlight.tools]".to_string(),
    );
    checks.push(mypy);

    let mut pip_audit =
        check("pip-audit", "pip-audit", Outcome::Failed, "2 known vulnerabilities in 2 packages", 6_700);
    pip_audit.tool =
        tool("pip-audit", Some("pip-audit"), Some("https://github.com/pypa/pip-audit"), true, "pyproject.toml");
    pip_audit.command = argv(&["pip-audit", "--path", ".greenlight/venv/lib/python3.11/site-packages", "-f", "json"]);
    pip_audit.exit_code = Some(1);
    let mut requests = Finding::new(
        "PYSEC-2018-28",
        "requests 2.19.0: Requests leaks the Authorization header on a redirect to another host",
        located("pyproject.toml", 9, 5, 9, 25),
    );
    requests.kind = FindingKind::Vulnerability;
    requests.title = Some("requests 2.19.0: PYSEC-2018-28".to_string());
    requests.url = Some("https://osv.dev/vulnerability/PYSEC-2018-28".to_string());
    requests.help = Some("upgrade requests to 2.20.0".to_string());
    requests.package = Some(PackageRef { name: "requests".to_string(), version: "2.19.0".to_string() });
    requests.aliases = vec!["CVE-2018-18074".to_string(), "GHSA-x84v-xcm2-53pg".to_string()];
    requests.fix_versions = vec!["2.20.0".to_string()];
    requests.fingerprint = fingerprint(&["PYSEC-2018-28", "requests", "2.19.0"]);
    pip_audit.findings.push(requests);
    let mut transitive = Finding::new(
        "GHSA-v845-jxx5-vc9f",
        "urllib3 1.24.1 (a dependency of requests): Cookie header leaked on a cross-origin redirect; no fixed version is known",
        None,
    );
    transitive.kind = FindingKind::Vulnerability;
    transitive.severity = Severity::Warning;
    transitive.url = Some("https://osv.dev/vulnerability/GHSA-v845-jxx5-vc9f".to_string());
    transitive.package = Some(PackageRef { name: "urllib3".to_string(), version: "1.24.1".to_string() });
    transitive.aliases = vec!["CVE-2023-43804".to_string()];
    transitive.fingerprint = fingerprint(&["GHSA-v845-jxx5-vc9f", "urllib3", "1.24.1"]);
    pip_audit.findings.push(transitive);
    pip_audit.log = log("pip-audit", "Found 2 known vulnerabilities in 2 packages");
    checks.push(pip_audit);

    let mut policy = check("policy", "pull request policy", Outcome::Failed, "1 violation", 12);
    policy.tool = tool("greenlight policy", None, None, false, "pyproject.toml");
    let mut link = Finding::new(
        "pr-links-issue",
        "the pull request body names no issue; add `Fixes #123` (or `Refs #123`) so the change can be traced",
        None,
    );
    link.kind = FindingKind::Policy;
    policy.findings.push(link);
    checks.push(policy);

    checks.push(pytest());
    checks.push(ruff_check());

    let mut ruff_format = check("ruff-format", "ruff format", Outcome::Failed, "2 files would be reformatted", 35);
    ruff_format.tool =
        tool("ruff format", Some("ruff"), Some("https://docs.astral.sh/ruff/formatter/"), true, "pyproject.toml");
    ruff_format.command = argv(&["ruff", "format", "--check", "--output-format", "json", "--no-cache", "."]);
    ruff_format.exit_code = Some(1);
    for path in ["apps/api/main.py", "docs/100%_coverage:notes.md"] {
        let mut finding = Finding::new("unformatted", "File would be reformatted", located(path, 1, 1, 1, 1));
        finding.kind = FindingKind::Format;
        finding.fix_available = true;
        finding.help = Some("run `greenlight run ruff-format --fix` (or `ruff format`)".to_string());
        if path == "apps/api/main.py" {
            finding.detail = Some(
                "--- apps/api/main.py\n+++ apps/api/main.py\n@@ -1,3 +1,3 @@\n-from fastapi import FastAPI\n-app=FastAPI( title='payments' )\n+from fastapi import FastAPI\n+\n+app = FastAPI(title=\"payments\")"
                    .to_string(),
            );
        }
        ruff_format.findings.push(finding);
    }
    ruff_format.log = log("ruff-format", "");
    checks.push(ruff_format);

    let mut semgrep = check("semgrep", "semgrep", Outcome::Cancelled, "not started", 0);
    semgrep.reason = Some("not started: --fail-fast stopped the run after a check did not pass".to_string());
    checks.push(semgrep);

    let mut tools = BTreeMap::new();
    for (name, version) in
        [("build", "1.6.1"), ("gitleaks", "8.16.0"), ("pip-audit", "2.10.1"), ("pytest", "9.2.0"), ("ruff", "0.17.6")]
    {
        tools.insert(
            name.to_string(),
            ToolInfo {
                version: version.to_string(),
                path: format!("/home/dev/monorepo/services/payments/.greenlight/venv/bin/{name}"),
                source: "environment".to_string(),
                as_of: None,
            },
        );
    }

    let mut report = RunReport {
        schema_version: greenlight_report::SCHEMA_VERSION,
        greenlight_version: "0.1.0".to_string(),
        run_id: SAMPLE_RUN_ID.to_string(),
        outcome: Outcome::Failed,
        interrupted: false,
        project: ProjectInfo {
            root: "/home/dev/monorepo/services/payments".to_string(),
            commit: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
            dirty: Some(false),
            rev: None,
            name: Some("payments-api".to_string()),
            path_in_repo: Some("services/payments".to_string()),
        },
        started_at: "2026-11-26T12:00:00Z".to_string(),
        duration_ms: 612_400,
        tools,
        checks,
        as_of: None,
    };
    report.recompute_outcome();
    report
}

fn pytest() -> CheckReport {
    let mut pytest = check("pytest", "pytest", Outcome::Failed, "2 failed, 2 errors, 2 passed, 1 skipped", 21_870);
    pytest.tool = tool("pytest", Some("pytest"), Some("https://docs.pytest.org/"), false, "pyproject.toml");
    pytest.command = argv(&["python", "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", "/tmp/junit.xml"]);
    pytest.exit_code = Some(1);
    let refund_traceback = "self = <tests.test_api.TestPayments object at 0x7f>\n\n    def test_refund(self, amount):\n        response = client.post(\"/refunds\", json={\"amount\": amount})\n>       assert response.status_code == 200\nE       assert 402 == 200\nE        +  where 402 = <Response [402]>.status_code\n\ntests/test_api.py:42: AssertionError";
    let unicode_traceback = "\u{1b}[31m    def test_ünïcode_naïve():\n>       assert greet(\"Zoë\") == \"Hello, Zoë 👋\"\nE       AssertionError: assert 'Hello, Zoe' == 'Hello, Zoë 👋'\u{0}\u{7}\u{fffe}\u{1b}[0m\n\ntests/test_api.py:57: AssertionError";
    let setup_traceback = "@pytest.fixture\n    def db():\n>       return connect(\"sqlite:///:memory:\")\nE       RuntimeError: database is locked\n\ntests/conftest.py:8: RuntimeError";
    let collection_traceback = "ImportError while importing test module '/home/dev/monorepo/services/payments/tests/test_broken.py'.\nE   ModuleNotFoundError: No module named 'stripe'";
    let case =
        |node_id: &str, classname: &str, name: &str, line: Option<u32>, outcome: TestOutcome, ms: u64| TestCase {
            node_id: node_id.to_string(),
            classname: classname.to_string(),
            name: name.to_string(),
            file: node_id.split("::").next().filter(|file| file.ends_with(".py")).map(str::to_string),
            line,
            outcome,
            duration_ms: ms,
            message: None,
            traceback: None,
        };
    let mut cases = vec![
        case("tests/test_api.py::test_health", "tests.test_api", "test_health", Some(12), TestOutcome::Passed, 4),
        case(
            "tests/test_api.py::TestPayments::test_refund[€-10]",
            "tests.test_api.TestPayments",
            "test_refund[€-10]",
            Some(38),
            TestOutcome::Failed,
            31,
        ),
        case(
            "tests/test_api.py::test_ünïcode_naïve",
            "tests.test_api",
            "test_ünïcode_naïve",
            Some(55),
            TestOutcome::Failed,
            2,
        ),
        case("tests/test_db.py::test_migrations", "tests.test_db", "test_migrations", Some(20), TestOutcome::Error, 0),
        case("tests/test_broken.py", "", "tests.test_broken", None, TestOutcome::Error, 0),
        case(
            "tests/test_db.py::test_big_import",
            "tests.test_db",
            "test_big_import",
            Some(31),
            TestOutcome::Skipped,
            0,
        ),
        case("tests/test_api.py::test_list", "tests.test_api", "test_list", Some(70), TestOutcome::Passed, 6),
    ];
    cases[1].message =
        Some("AssertionError: assert 402 == 200\n +  where 402 = <Response [402]>.status_code".to_string());
    cases[1].traceback = Some(refund_traceback.to_string());
    cases[2].message = Some("AssertionError: assert 'Hello, Zoe' == 'Hello, Zoë 👋'".to_string());
    cases[2].traceback = Some(unicode_traceback.to_string());
    cases[3].message = Some("failed on setup with \"RuntimeError: database is locked\"".to_string());
    cases[3].traceback = Some(setup_traceback.to_string());
    cases[4].message = Some("collection failure".to_string());
    cases[4].traceback = Some(collection_traceback.to_string());
    cases[5].message = Some("needs the 2 GB fixture dump".to_string());
    pytest.tests = Some(TestSummary { total: 7, passed: 2, failed: 2, errors: 2, skipped: 1, cases: cases.clone() });
    for case in cases.iter().filter(|case| matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error)) {
        // As the pytest checker writes them.
        let (rule, verb) =
            if case.outcome == TestOutcome::Failed { ("test-failed", "failed") } else { ("test-error", "errored") };
        let location = case.file.as_ref().map(|file| Location::at(file, case.line, None));
        let first = case.message.as_deref().and_then(|message| message.lines().next()).unwrap_or_default();
        let message = format!("{} {verb}: {first}", case.node_id);
        let mut finding = Finding::new(rule, message, location);
        finding.kind = FindingKind::Test;
        finding.title = Some(format!("pytest: {}", case.node_id));
        finding.detail = case.traceback.clone();
        finding.fingerprint = fingerprint(&[rule, &case.node_id]);
        pytest.findings.push(finding);
    }
    pytest.log = log(
        "pytest",
        "FAILED tests/test_api.py::TestPayments::test_refund[€-10] - AssertionError: assert 402 == 200\n::error::a test printed this workflow command\n=========== 2 failed, 2 passed, 1 skipped, 2 errors in 21.12s ===========",
    );
    pytest
}

fn ruff_check() -> CheckReport {
    let mut ruff = check("ruff-check", "ruff check", Outcome::Failed, "5 findings (1 fixable)", 41);
    ruff.tool = tool("ruff", Some("ruff"), Some("https://docs.astral.sh/ruff/"), true, "pyproject.toml");
    ruff.command = argv(&["ruff", "check", "--output-format", "json", "--no-cache", "."]);
    ruff.exit_code = Some(1);
    let mut unused = lint("F401", "`os` imported but unused", located("apps/api/a,b:c%d.py", 1, 8, 1, 10));
    unused.fix_available = true;
    unused.title = Some("ruff F401".to_string());
    unused.help = Some("Remove unused import: `os`".to_string());
    unused.url = Some("https://docs.astral.sh/ruff/rules/unused-import".to_string());
    ruff.findings.push(unused);
    let mut imports =
        lint("I001", "Import block is un-sorted or un-formatted", located("apps/api/routes/café.py", 3, 1, 9, 1));
    imports.url = Some("https://docs.astral.sh/ruff/rules/unsorted-imports".to_string());
    ruff.findings.push(imports);
    ruff.findings.push(lint(
        "E711",
        "Comparison to `None` should be `cond is None` | use `is` — 比较 None 时请使用 `is` 🐍",
        located("packages/core/schemas.py", 15, 31, 15, 33),
    ));
    let long = format!(
        "Line too long ({} > 88): {}",
        240,
        "the quick brown fox jumps over the lazy dog; ".repeat(12).trim_end()
    );
    let mut e501 = lint("E501", &long, located("packages/core/schemas.py", 21, 89, 21, 241));
    e501.severity = Severity::Warning;
    ruff.findings.push(e501);
    let mut syntax = Finding::new(
        "invalid-syntax",
        "Expected a parameter or the end of the parameter list\n(the file cannot be parsed, so no other rule ran on it)",
        located("packages/core/broken.py", 1, 7, 1, 8),
    );
    syntax.url = None;
    ruff.findings.push(syntax);
    greenlight_report::sort_findings(&mut ruff.findings);
    ruff.log = log("ruff-check", "");
    ruff
}
