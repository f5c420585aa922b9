//! The outcome decisions, on real recorded pip-audit output (`tests/data/`).

use std::path::{Path, PathBuf};

use greenlight_checker::{Outcome, PyProject, Severity};

use super::*;

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

const PYPROJECT: &str =
    "[project]\nname = \"vulnerable-service\"\nversion = \"0.1.0\"\ndependencies = [\n    \"requests==2.19.0\",\n]\n";

struct Fixture {
    project: Project,
    locator: Locator,
    db: AdvisoryDb,
    target: Target,
}

fn fixture() -> Fixture {
    let project = Project {
        root: PathBuf::from("/project"),
        pyproject: Some(PyProject::parse(PYPROJECT).unwrap()),
        ..Project::default()
    };
    let locator = Locator::new(&project, &[]);
    let records = ["requests/PYSEC-2018-28.yaml", "urllib3/PYSEC-2019-132.yaml", "idna/PYSEC-2024-60.json"];
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/advisory-db/vulns");
    let sources = records
        .iter()
        .map(|record| {
            let path = fixtures.join(record);
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    let (db, _) = AdvisoryDb::from_sources(Path::new("advisory-db"), sources);
    Fixture { project, locator, db, target: Target::Environment(PathBuf::from("/project/.greenlight/venv/lib")) }
}

impl Fixture {
    fn context<'a>(&'a self, warnings: &'a [LoadWarning], offline: bool) -> Context<'a> {
        Context {
            project_name: self.project.pyproject.as_ref().and_then(|p| p.name.as_deref()).map(normalize_name),
            source: if offline {
                Source::Database { path: PathBuf::from("advisory-db"), advisories: self.db.len() }
            } else {
                Source::Service(Service::Pypi)
            },
            database: offline.then_some(&self.db),
            target: &self.target,
            locator: &self.locator,
            warnings,
            root: &self.project.root,
        }
    }
}

fn report(dependencies: &str) -> Vec<u8> {
    format!("{{\"dependencies\": [{dependencies}], \"fixes\": []}}").into_bytes()
}

fn audited(name: &str) -> String {
    format!("{{\"name\": \"{name}\", \"version\": \"1.0\", \"vulns\": []}}")
}

fn skipped(name: &str) -> String {
    format!(
        "{{\"name\": \"{name}\", \"skip_reason\": \"Dependency not found on PyPI and could not be audited: {name} (1.0)\"}}"
    )
}

#[test]
fn vulnerabilities_found_offline() {
    let fixture = fixture();
    let result = interpret(1, Some(&data("osv-vulnerable.json")), "", &fixture.context(&[], true));
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
    assert_eq!(result.summary, "10 known vulnerabilities in 3 of 5 packages (2 unknown to the advisory database)");
    assert_eq!(result.findings.len(), 10);
    let finding = result.findings.iter().find(|finding| finding.rule == "PYSEC-2018-28").unwrap();
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.kind, FindingKind::Vulnerability);
    assert_eq!(finding.location.as_ref().unwrap().display(), "pyproject.toml:5");
    assert_eq!(finding.package, Some(PackageRef { name: "requests".into(), version: "2.19.0".into() }));
    assert_eq!(finding.aliases, ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"]);
    assert_eq!(finding.fix_versions, ["2.20.0"]);
    assert!(finding.message.starts_with("requests 2.19.0: The Requests package before 2.20.0"), "{}", finding.message);
    assert!(finding.message.ends_with("(fixed in 2.20.0)"), "{}", finding.message);
    assert_eq!(finding.help.as_deref(), Some("upgrade requests to 2.20.0 or later"));
    assert_eq!(finding.url.as_deref(), Some("https://osv.dev/vulnerability/PYSEC-2018-28"));
    assert_eq!(finding.fingerprint, fingerprint(&["pip-audit", "PYSEC-2018-28", "requests"]));

    // Without the installed metadata, a transitive dependency points at pyproject.toml.
    let urllib3 = result.findings.iter().find(|finding| finding.rule == "PYSEC-2023-212").unwrap();
    assert_eq!(urllib3.location.as_ref().unwrap().display(), "pyproject.toml");
    assert_eq!(urllib3.fix_versions, ["1.26.18", "2.0.7"]);
    assert_eq!(urllib3.help.as_deref(), Some("upgrade urllib3 to 1.26.18 or later"));
}

#[test]
fn every_dependency_skipped_is_not_audited() {
    let fixture = fixture();
    let result = interpret(
        0,
        Some(&data("pypi-all-skipped.json")),
        "No known vulnerabilities found\n",
        &fixture.context(&[], false),
    );
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert_eq!(result.summary, "not audited: all 5 dependencies skipped");
    let reason = result.reason.unwrap();
    assert!(reason.starts_with("not audited: all 5 dependencies were skipped\nPyPI's vulnerability service did not know these packages or could not be reached"), "{reason}");
    assert!(reason.contains("--advisory-db PATH"), "{reason}");
    assert!(reason.ends_with("\nnot audited: certifi, chardet, idna, requests, urllib3"), "{reason}");
    assert!(!reason.contains("vulnerable-service"), "the project itself is not a dependency: {reason}");
    assert_eq!(result.findings.len(), 5);
    assert!(result.findings.iter().all(|finding| finding.rule == NOT_AUDITED && finding.severity == Severity::Warning));
    let requests = result.findings.iter().find(|finding| finding.package.as_ref().unwrap().name == "requests").unwrap();
    assert_eq!(requests.package.as_ref().unwrap().version, "2.19.0");
    assert_eq!(requests.message, "requests 2.19.0 not audited: Dependency not found on PyPI and could not be audited");
    assert_eq!(requests.location.as_ref().unwrap().display(), "pyproject.toml:5");
}

#[test]
fn most_skipped_is_not_audited_some_skipped_is_shown() {
    let fixture = fixture();
    let cx = fixture.context(&[], false);
    let most = report(&[skipped("a"), skipped("b"), audited("c")].join(","));
    let result = interpret(0, Some(&most), "", &cx);
    assert_eq!(result.outcome, Outcome::Errored);
    assert_eq!(result.summary, "not audited: 2 of 3 dependencies skipped");

    let few = report(&[skipped("a"), audited("b"), audited("c")].join(","));
    let result = interpret(0, Some(&few), "", &cx);
    assert_eq!(result.outcome, Outcome::Passed);
    assert_eq!(result.summary, "no known vulnerabilities in 2 packages (1 not audited)");
    assert_eq!(result.findings.len(), 1);
    assert_eq!(result.findings[0].message, "a 1.0 not audited: Dependency not found on PyPI and could not be audited");

    let odd = report(
        r#"{"name": "b", "skip_reason": "distribution marked as editable"}, {"name": "c", "version": "1", "vulns": []}, {"name": "d", "version": "1", "vulns": []}"#,
    );
    let result = interpret(0, Some(&odd), "", &cx);
    assert_eq!(result.findings[0].message, "b not audited: distribution marked as editable");
}

#[test]
fn the_project_itself_does_not_count() {
    let fixture = fixture();
    let cx = fixture.context(&[], false);
    let result = interpret(0, Some(&report(&skipped("Vulnerable_Service"))), "", &cx);
    assert_eq!(result.outcome, Outcome::Passed);
    assert_eq!(result.summary, "no dependencies to audit besides the project itself");
    assert!(result.findings.is_empty());

    let with_one = report(&[skipped("vulnerable-service"), audited("idna")].join(","));
    let result = interpret(0, Some(&with_one), "", &cx);
    assert_eq!((result.outcome, result.summary.as_str()), (Outcome::Passed, "no known vulnerabilities in 1 package"));
}

#[test]
fn nothing_listed_is_not_audited() {
    let fixture = fixture();
    let result = interpret(0, Some(&report("")), "", &fixture.context(&[], true));
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(
        result.summary.starts_with("not audited: pip-audit found no packages in /project/.greenlight/venv/lib"),
        "{}",
        result.summary
    );
}

#[test]
fn exit_1_without_vulnerabilities_is_a_failure_of_pip_audit() {
    let fixture = fixture();
    let cx = fixture.context(&[], false);
    let stderr = String::from_utf8(data("osv-unreachable.stderr")).unwrap();
    let result = interpret(1, None, &stderr, &cx);
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(result.summary.starts_with("not audited: pip-audit failed (exit code 1): requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev'"), "{}", result.summary);
    assert!(result.reason.unwrap().contains("--advisory-db PATH"));

    // A report without vulnerabilities and exit code 1 (`--strict`, a fix that failed): the
    // message decides, not the report.
    let result =
        interpret(1, Some(&report(&audited("idna"))), "ERROR:pip_audit._cli:idna: Dependency not found on PyPI\n", &cx);
    assert_eq!(result.outcome, Outcome::Errored);
    assert_eq!(result.summary, "not audited: pip-audit failed (exit code 1): idna: Dependency not found on PyPI");

    let local = fixture.context(&[], true);
    let stderr = String::from_utf8(data("osv-http-500.stderr")).unwrap();
    let result = interpret(1, None, &stderr, &local);
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(
        result.summary.contains("ServiceError (caused by requests.exceptions.HTTPError: 500 Server Error"),
        "{}",
        result.summary
    );
}

#[test]
fn unreadable_report_is_errored() {
    let fixture = fixture();
    let result = interpret(0, Some(b"No known vulnerabilities found"), "", &fixture.context(&[], false));
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(
        result.summary.starts_with("not audited: pip-audit wrote a report greenlight cannot read"),
        "{}",
        result.summary
    );
    let result = interpret(
        2,
        None,
        "usage: pip-audit [-h]\npip-audit: error: unrecognized arguments: --bogus\n",
        &fixture.context(&[], false),
    );
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(result.summary.contains("unrecognized arguments: --bogus"), "{}", result.summary);
}

#[test]
fn malformed_advisory_files_are_reported_with_their_path() {
    let fixture = fixture();
    let warnings = vec![LoadWarning {
        path: PathBuf::from("/project/advisories/vulns/x/PYSEC-1.yaml"),
        message: "not an OSV record: missing field `id`".to_string(),
        skipped: true,
    }];
    let result = interpret(0, Some(&report(&audited("idna"))), "", &fixture.context(&warnings, true));
    assert_eq!(result.outcome, Outcome::Passed);
    assert_eq!(result.summary, "no known vulnerabilities in 1 package (1 malformed advisory file skipped)");
    let finding = &result.findings[0];
    assert_eq!(finding.rule, MALFORMED_ADVISORY);
    assert_eq!(finding.severity, Severity::Warning);
    assert_eq!(finding.message, "advisories/vulns/x/PYSEC-1.yaml: not an OSV record: missing field `id`; skipped");
    assert_eq!(finding.location.as_ref().unwrap().display(), "advisories/vulns/x/PYSEC-1.yaml");
}

#[test]
fn installer_tooling_nothing_requires_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    for (name, requires) in [("requests", "Requires-Dist: urllib3\n"), ("urllib3", ""), ("pip", "")] {
        let dist = site.join(format!("{name}-1.0.dist-info"));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("METADATA"), format!("Name: {name}\nVersion: 1.0\n{requires}\n")).unwrap();
    }
    let mut fixture = fixture();
    fixture.locator = Locator::new(&fixture.project, &[]).with_environment(site);
    let vulnerable = |name: &str| {
        format!(
            "{{\"name\": \"{name}\", \"version\": \"23.2.1\", \"vulns\": [{{\"id\": \"PYSEC-2023-228\", \"fix_versions\": [\"23.3\"]}}]}}"
        )
    };
    let json = report(&[vulnerable("pip"), audited("requests")].join(","));
    let result = interpret(1, Some(&json), "", &fixture.context(&[], false));
    assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
    assert_eq!(result.summary, "no known vulnerabilities in 2 packages (1 advisory in environment tooling)");
    assert_eq!(result.findings[0].severity, Severity::Warning);
    assert!(result.findings[0].message.contains("not required by the project"), "{}", result.findings[0].message);

    // The same advisory on a required package is an error, located at what requires it.
    let json = report(&[vulnerable("urllib3"), audited("requests")].join(","));
    let result = interpret(1, Some(&json), "", &fixture.context(&[], false));
    assert_eq!(result.outcome, Outcome::Failed);
    let finding = &result.findings[0];
    assert_eq!(finding.location.as_ref().unwrap().display(), "pyproject.toml:5");
    assert!(
        finding.message.starts_with("urllib3 23.2.1 (required by requests): no description (fixed in 23.3)"),
        "{}",
        finding.message
    );
    assert_eq!(
        finding.help.as_deref(),
        Some("upgrade urllib3 to 23.3 or later (it comes with requests; upgrade that, or constrain urllib3)")
    );
}

#[test]
fn helpers() {
    assert_eq!(upgrade_to("1.23", &["1.26.18".into(), "2.0.7".into()]).as_deref(), Some("1.26.18"));
    assert_eq!(upgrade_to("2.0.2", &["1.26.18".into(), "2.0.7".into()]).as_deref(), Some("2.0.7"));
    assert_eq!(upgrade_to("3.0", &["1.26.18".into(), "2.0.7".into()]).as_deref(), Some("1.26.18"));
    assert_eq!(upgrade_to("1.0", &[]), None);
    assert_eq!(text::clip_words("short", 10), "short");
    assert_eq!(text::clip_words("a long sentence, with words", 17), "a long sentence…");
    assert_eq!(text::plural(1, "dependency"), "1 dependency");
    assert_eq!(text::plural(2, "dependency"), "2 dependencies");
    assert_eq!(text::plural(3, "known vulnerability"), "3 known vulnerabilities");
    assert_eq!(text::plural(2, "package"), "2 packages");
}

#[test]
fn options_and_detection() {
    use greenlight_checker::ConfigSource;
    let source = ConfigSource::new(
        "pyproject.toml",
        "[tool.greenlight.pip-audit]\nadvisory_db = \"advisories\"\nignore-vulns = [\"CVE-2018-18074\"]\ntimeout = \"2m\"\n",
        &["tool", "greenlight"],
    );
    let checker = checker(&source).unwrap();
    let info = checker.info();
    assert!(!info.network && info.cacheable, "offline, the database's files key the result");
    assert_eq!(info.needs, [ENVIRONMENT]);
    assert!(!info.cpu_bound);

    let online =
        checker_from("[tool.greenlight.pip-audit]\nrequirements = [\"requirements.txt\"]\nservice = \"osv\"\n");
    assert!(online.info().network && online.info().cacheable);
    assert!(online.info().needs.is_empty(), "requirements need no environment");

    let Err(error) = (PIP_AUDIT_CHECK.build)(&ConfigSource::new(
        "pyproject.toml",
        "[tool.greenlight.pip-audit]\nservice = \"snyk\"\n",
        &["tool", "greenlight"],
    )) else {
        panic!("an unknown service is an error")
    };
    assert!(error.message.contains("unknown variant `snyk`"), "{error}");
    let Err(error) =
        (PIP_AUDIT_CHECK.build)(&ConfigSource::new("greenlight.toml", "[pip-audit]\nadvisory-dbs = \"x\"\n", &[]))
    else {
        panic!("an unknown key is an error")
    };
    assert!(error.message.contains("unknown field `advisory-dbs`") && error.message.contains("advisory-db"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let bare = Project { root: dir.path().to_path_buf(), ..Project::default() };
    let default = checker_from("");
    assert!(!default.detect(&bare).applies);
    std::fs::write(dir.path().join("requirements-prod.txt"), "flask==0.12\n").unwrap();
    assert_eq!(default.detect(&bare), Detection::applies("requirements-prod.txt found"));
    let with_pyproject = Project { pyproject: Some(PyProject::parse(PYPROJECT).unwrap()), ..bare };
    assert_eq!(default.detect(&with_pyproject), Detection::applies("pyproject.toml found"));
}

fn checker_from(text: &str) -> Arc<dyn Checker> {
    checker(&greenlight_checker::ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"])).unwrap()
}
