//! pip-audit: the real pip-audit on fixture projects installed from PyPI, against the real
//! loopback endpoint serving the fixtures' advisory database (and the full PyPA snapshot when
//! `GREENLIGHT_ADVISORY_DB` names one), and without any database or network.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_e2e::{TempProject, check_fixture, gone, interrupt, require_tool, run_greenlight, wait_for, workspace};
use greenlight_report::{Outcome, RunReport, Severity};

/// A proxy nobody listens on: with it, nothing reaches the network.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

fn ready() -> bool {
    require_tool("uv") && require_tool("pip-audit")
}

fn fixture_db() -> String {
    workspace().join("fixtures/advisory-db").display().to_string()
}

/// The full advisory database, when the suite is given one (`.ci/run` does).
#[expect(clippy::print_stderr, reason = "tests explain why they skip")]
fn full_db() -> Option<PathBuf> {
    let path = std::env::var_os("GREENLIGHT_ADVISORY_DB").filter(|path| !path.is_empty()).map(PathBuf::from);
    match path {
        Some(path) if path.is_dir() => Some(path),
        Some(path) => panic!("GREENLIGHT_ADVISORY_DB={} is not a directory", path.display()),
        None => {
            eprintln!("skipped: GREENLIGHT_ADVISORY_DB is not set (point it at a copy of the PyPA advisory database)");
            None
        }
    }
}

/// Runs `greenlight run ARGS --json <file>` with extra environment variables.
fn run_with_env(project: &TempProject, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, RunReport, String) {
    let report = project.path().join(".greenlight/e2e-report.json");
    let report_arg = report.display().to_string();
    let mut all = vec!["run", "--no-progress", "--json", report_arg.as_str()];
    all.extend_from_slice(args);
    let result = run_greenlight(project.path(), &all, env);
    let text = std::fs::read_to_string(&report).unwrap_or_else(|_| panic!("no report\n{}", result.output()));
    (result.code, serde_json::from_str(&text).expect("the report parses"), result.output())
}

fn pip_audit(report: &RunReport) -> &greenlight_report::CheckReport {
    report.check("pip-audit").expect("pip-audit is in the report")
}

fn rules(report: &RunReport) -> BTreeSet<String> {
    pip_audit(report)
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .map(|finding| finding.rule.clone())
        .collect()
}

fn offline_proxies() -> Vec<(&'static str, &'static str)> {
    vec![
        ("HTTPS_PROXY", DEAD_PROXY),
        ("HTTP_PROXY", DEAD_PROXY),
        ("https_proxy", DEAD_PROXY),
        ("http_proxy", DEAD_PROXY),
        ("ALL_PROXY", DEAD_PROXY),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ]
}

#[test]
fn vulnerable_dependencies() {
    if ready() {
        let result = check_fixture("vulnerable-deps", &["--advisory-db", &fixture_db()]);
        let check = pip_audit(result.report());
        let finding = check.findings.iter().find(|finding| finding.rule == "PYSEC-2019-132").unwrap();
        assert!(finding.message.starts_with("urllib3 1.23 (required by requests): "), "{}", finding.message);
        assert_eq!(finding.aliases, ["CVE-2019-11236", "GHSA-r64q-w8jr-g9qp"]);
        assert_eq!(finding.fix_versions, ["1.24.3"]);
        let package = finding.package.as_ref().unwrap();
        assert_eq!((package.name.as_str(), package.version.as_str()), ("urllib3", "1.23"));
        let command = check.command.as_ref().unwrap().join(" ");
        assert!(command.contains("--vulnerability-service osv --osv-url http://127.0.0.1:"), "{command}");
    }
}

#[test]
fn clean_dependencies() {
    if ready() {
        check_fixture("audit-clean", &["--advisory-db", &fixture_db()]);
    }
}

#[test]
fn dependency_unknown_to_the_database() {
    if ready() {
        check_fixture("unknown-to-db", &["--advisory-db", &fixture_db()]);
    }
}

#[test]
fn pinned_requirements_file() {
    if require_tool("pip-audit") {
        check_fixture("pinned-requirements", &["--advisory-db", &fixture_db()]);
    }
}

#[test]
fn full_snapshot_finds_every_advisory_that_applies() {
    let Some(db) = full_db() else { return };
    if !ready() {
        return;
    }
    let db = db.display().to_string();
    // Through the variable, as CI sets it, instead of the flag.
    let project = TempProject::fixture("vulnerable-deps");
    let (code, report, output) = run_with_env(&project, &["pip-audit"], &[("GREENLIGHT_ADVISORY_DB", db.as_str())]);
    assert_eq!(code, Some(1), "{output}");
    let check = pip_audit(&report);
    assert_eq!(check.outcome, Outcome::Failed, "{output}");
    // requests 2.19.0, urllib3 1.23, idna 2.7, chardet 3.0.4 and a current certifi against the
    // snapshot of 2024-10-10.
    let expected: BTreeSet<String> = [
        "PYSEC-2018-28",
        "PYSEC-2023-74",
        "PYSEC-2019-132",
        "PYSEC-2019-133",
        "PYSEC-2020-148",
        "PYSEC-2021-108",
        "PYSEC-2023-192",
        "PYSEC-2023-207",
        "PYSEC-2023-212",
        "PYSEC-2024-60",
    ]
    .map(String::from)
    .into();
    assert_eq!(rules(&report), expected, "{output}");
    assert!(check.findings.iter().all(|finding| finding.location.as_ref().unwrap().display() == "pyproject.toml:11"));
    assert!(check.summary.starts_with("10 known vulnerabilities in 3 of 5 packages"), "{}", check.summary);

    let project = TempProject::fixture("audit-clean");
    let (code, report, output) = run_with_env(&project, &["pip-audit", "--advisory-db", &db], &[]);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(pip_audit(&report).summary, "no known vulnerabilities in 2 packages", "{output}");
}

#[test]
fn without_database_or_network_the_audit_is_errored() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("audit-clean");
    // Build the environment (that needs the package index), then take the network away.
    let (code, _, output) = run_with_env(&project, &["pip-audit", "--advisory-db", &fixture_db()], &[]);
    assert_eq!(code, Some(0), "{output}");

    let offline = offline_proxies();
    for service in ["pypi", "osv"] {
        project.write("greenlight.toml", &format!("[pip-audit]\nservice = \"{service}\"\n"));
        let (code, report, output) = run_with_env(&project, &["pip-audit"], &offline);
        assert_eq!(report.check("environment").unwrap().outcome, Outcome::Passed, "reused: {output}");
        let check = pip_audit(&report);
        assert_eq!(check.outcome, Outcome::Errored, "{service}: {output}");
        assert_eq!(code, Some(2), "{output}");
        assert!(check.summary.starts_with("not audited: "), "{}", check.summary);
        let reason = check.reason.as_deref().unwrap();
        assert!(reason.contains("--advisory-db PATH"), "{reason}");
    }

    // The local endpoint is reached even with a proxy configured.
    project.write("greenlight.toml", "");
    let (code, report, output) = run_with_env(&project, &["pip-audit", "--advisory-db", &fixture_db()], &offline);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(pip_audit(&report).outcome, Outcome::Passed, "{output}");
}

#[test]
fn without_database_on_this_machine_nothing_passes() {
    // pip-audit's default service, with whatever network there is: it either audits for real
    // (passed or failed) or cannot, and then it must say so.
    if !ready() {
        return;
    }
    let project = TempProject::fixture("vulnerable-deps");
    let (_, report, output) = run_with_env(&project, &["pip-audit"], &[]);
    let check = pip_audit(&report);
    match check.outcome {
        Outcome::Failed => assert!(rules(&report).contains("PYSEC-2018-28"), "{output}"),
        Outcome::Errored => assert!(check.summary.starts_with("not audited"), "{output}"),
        other => panic!("pip-audit {other} on a project with known vulnerabilities: {output}"),
    }
}

#[test]
fn malformed_advisory_file_is_reported_and_skipped() {
    if !ready() {
        return;
    }
    let db = TempProject::empty();
    copy_tree(&workspace().join("fixtures/advisory-db"), db.path());
    db.write("vulns/urllib3/PYSEC-2099-1.yaml", "id: PYSEC-2099-1\naffected: [unclosed\n");
    let project = TempProject::fixture("vulnerable-deps");
    let db_path = db.path().display().to_string();
    let (code, report, output) = run_with_env(&project, &["pip-audit", "--advisory-db", &db_path], &[]);
    assert_eq!(code, Some(1), "{output}");
    let check = pip_audit(&report);
    assert_eq!(rules(&report).len(), 5, "the other advisories were used: {output}");
    assert!(check.summary.contains("1 malformed advisory file skipped"), "{}", check.summary);
    let warning = check.findings.iter().find(|finding| finding.rule == "malformed-advisory").unwrap();
    assert_eq!(warning.severity, Severity::Warning);
    assert!(warning.message.contains("vulns/urllib3/PYSEC-2099-1.yaml"), "{}", warning.message);
}

#[test]
fn database_and_ignored_advisories_from_the_configuration() {
    if !ready() {
        return;
    }
    let project = TempProject::fixture("vulnerable-deps");
    copy_tree(&workspace().join("fixtures/advisory-db"), &project.path().join("advisories"));
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &format!(
            "{pyproject}\n[tool.greenlight.pip-audit]\nadvisory-db = \"advisories\"\nignore-vulns = [\"CVE-2018-18074\", \"PYSEC-2024-60\"]\n"
        ),
    );
    let (code, report, output) = run_with_env(&project, &["pip-audit"], &[]);
    assert_eq!(code, Some(1), "{output}");
    let expected: BTreeSet<String> = ["PYSEC-2023-74", "PYSEC-2019-132", "PYSEC-2023-212"].map(String::from).into();
    assert_eq!(rules(&report), expected, "ignored by alias and by id: {output}");
    let command = pip_audit(&report).command.as_ref().unwrap().join(" ");
    assert!(command.contains("--ignore-vuln CVE-2018-18074 --ignore-vuln PYSEC-2024-60"), "{command}");

    // A configured database that is not there.
    project
        .write("pyproject.toml", &format!("{pyproject}\n[tool.greenlight.pip-audit]\nadvisory-db = \"no-such-dir\"\n"));
    let (code, report, output) = run_with_env(&project, &["pip-audit"], &[]);
    assert_eq!(code, Some(2), "{output}");
    let check = pip_audit(&report);
    assert_eq!(check.outcome, Outcome::Errored);
    assert!(check.reason.as_deref().unwrap().contains("no-such-dir does not exist"), "{:?}", check.reason);
}

#[test]
fn advisory_db_flag_must_name_a_directory() {
    let project = TempProject::fixture("audit-clean");
    let result = project.run(&["run", "pip-audit", "--advisory-db", "no-such-dir"]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("--advisory-db no-such-dir: no such directory"), "{}", result.output());
}

#[test]
fn interrupt_stops_pip_audit_and_the_endpoint() {
    if !require_tool("uv") {
        return;
    }
    // A pip-audit that records how it was called and waits, so the run is interrupted while
    // the endpoint serves.
    let project = TempProject::fixture("audit-clean");
    project.write(
        "fake-pip-audit",
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pip-audit 2.10.1'; exit 0; fi\necho $$ > pid\necho \"$@\" > args.tmp && mv args.tmp args\nexec sleep 60\n",
    );
    std::fs::set_permissions(
        project.path().join("fake-pip-audit"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    project.write("greenlight.toml", "[tools]\npip-audit = { path = \"fake-pip-audit\" }\n");
    let report = project.path().join("report.json").display().to_string();
    let mut child = greenlight_e2e::spawn_greenlight(
        project.path(),
        &["run", "pip-audit", "--no-progress", "--advisory-db", &fixture_db(), "--json", &report],
    );
    let args_file = project.path().join("args");
    assert!(wait_for(Duration::from_secs(120), || args_file.exists()), "the fake pip-audit never started");
    let args = std::fs::read_to_string(&args_file).unwrap();
    let url = args.split_whitespace().skip_while(|arg| *arg != "--osv-url").nth(1).expect("--osv-url").to_string();
    let address = url.trim_start_matches("http://").split('/').next().unwrap().to_string();
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert!(std::net::TcpStream::connect(&address).is_ok(), "the endpoint serves while pip-audit runs");

    // Ctrl-C.
    assert_eq!(interrupt(&mut child, Duration::from_secs(30)).code(), Some(130));
    let pid = std::fs::read_to_string(project.path().join("pid")).unwrap();
    assert!(gone(&pid), "the fake pip-audit outlived the run");
    assert!(std::net::TcpStream::connect(&address).is_err(), "the endpoint is gone");
    let report: RunReport = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(pip_audit(&report).outcome, Outcome::Cancelled);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Offline, the advisory database is an input of the result cache: an unchanged audit
/// replays, and a new record in the database audits again.
#[test]
fn an_offline_audit_replays_until_the_database_changes() {
    if !ready() {
        return;
    }
    let db = TempProject::empty();
    copy_tree(&workspace().join("fixtures/advisory-db"), db.path());
    let db_path = db.path().display().to_string();
    let project = TempProject::fixture("audit-clean");
    let args = ["pip-audit", "--advisory-db", db_path.as_str()];
    let (code, report, output) = run_with_env(&project, &args, &[]);
    assert_eq!((code, pip_audit(&report).cached), (Some(0), false), "{output}");
    let (code, report, output) = run_with_env(&project, &args, &[]);
    assert_eq!((code, pip_audit(&report).cached), (Some(0), true), "{output}");

    // An advisory for the installed idna lands in the database.
    db.write(
        "vulns/idna/PYSEC-2099-7.yaml",
        "id: PYSEC-2099-7\nmodified: 2099-01-01T00:00:00Z\ndetails: A test advisory.\naffected:\n- package:\n    name: idna\n    ecosystem: PyPI\n  versions:\n  - '3.10'\n",
    );
    let (code, report, output) = run_with_env(&project, &args, &[]);
    assert_eq!((code, pip_audit(&report).cached), (Some(1), false), "{output}");
    assert!(rules(&report).contains("PYSEC-2099-7"), "{output}");
}
