//! The `pip-audit` checker: known vulnerabilities in the project's dependencies.
//!
//! It audits the project environment (`pip-audit --path <site-packages>`: exactly what is
//! installed) or, when configured, requirements files (`-r`). The vulnerability source is
//! pip-audit's default service (PyPI), OSV, or an **offline advisory database**: a directory
//! of OSV records that greenlight loads ([`advisory`]) and serves on a loopback port for the
//! duration of the check, with pip-audit pointed at it (`-s osv --osv-url`).
//!
//! The outcome is decided from pip-audit's JSON report, never from its exit code alone
//! (TOOL-FACTS §4): pip-audit exits 0 when its service could not be reached and every
//! dependency was "skipped", so skipped dependencies are counted and shown, and a run where
//! most were skipped is `errored` ("not audited"), never `passed`. Exit code 1 means
//! vulnerabilities only when the report parses and lists them; otherwise pip-audit failed and
//! the check is `errored` with pip-audit's own message.

pub mod advisory;
pub mod compat;
pub mod locate;
pub mod parse;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::env::{Env, EnvVars};
use greenlight_checker::report::{PackageRef, fingerprint};
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, Detection, ENVIRONMENT, FileSet,
    Finding, FindingKind, OptionKey, Project, Reads, Severity, ToolSpec, async_trait, check_options, normalize_name,
    text,
};
use serde::Deserialize;

use crate::advisory::{AdvisoryDb, AdvisoryServer, LoadWarning};
use crate::locate::Locator;
use crate::parse::{AuditReport, Dependency, Vuln};

pub use parse::{Endpoint, error_message, parse_report};

/// `advisory-db` of `[tool.greenlight.pip-audit]`, which `greenlight run --advisory-db DIR` and
/// the variable `GREENLIGHT_ADVISORY_DB` set (an absolute path).
pub const ADVISORY_DB: OptionKey<String> = OptionKey::new("pip-audit", "advisory-db");

/// Rule id of the finding for a dependency pip-audit skipped.
pub const NOT_AUDITED: &str = "not-audited";

/// Rule id of the finding for an advisory file that could not be used.
pub const MALFORMED_ADVISORY: &str = "malformed-advisory";

/// Packages a virtual environment's installer brings along: when nothing the project declares
/// requires them, their advisories are reported as warnings (they are not part of the project).
const ENVIRONMENT_TOOLING: &[&str] = &["pip", "setuptools", "wheel", "distribute"];

/// The pip-audit tool.
pub const PIP_AUDIT: ToolSpec = ToolSpec {
    name: "pip-audit",
    executable: "pip-audit",
    version_args: &["--version"],
    pypi: Some("pip-audit"),
    in_environment: false,
    install_hint: "install it with `pip install pip-audit` (or `uv tool install pip-audit`), or pin it in [tool.greenlight.tools] pip-audit = \"2.10.1\" and greenlight installs it",
    default_version: Some("2.10.1"),
    wheel: None,
};

/// pip-audit's vulnerability service when no advisory database is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// PyPI's JSON API (pip-audit's default).
    #[default]
    Pypi,
    /// OSV (`https://api.osv.dev`).
    Osv,
}

check_options! {
    /// Options of `[tool.greenlight.pip-audit]`.
    pub struct PipAuditOptions {
        /// A directory of OSV records (the PyPA advisory database's layout) to audit against
        /// offline, relative to the project root. `--advisory-db` and `GREENLIGHT_ADVISORY_DB`
        /// override it.
        #[serde(alias = "advisory_db")]
        pub advisory_db: Option<String>,
        /// Advisory ids (or their CVE/GHSA aliases) to ignore (`--ignore-vuln`).
        pub ignore_vulns: Vec<String>,
        /// Requirements files to audit instead of the project environment (relative to the
        /// project root).
        pub requirements: Vec<String>,
        /// With `requirements`: the files pin every dependency (pip-compile, `uv export`);
        /// audit them as they are instead of resolving them (`--no-deps --disable-pip`).
        pub no_deps: bool,
        /// The vulnerability service when no advisory database is used: `pypi` (default) or
        /// `osv`.
        pub service: Option<Service>,
        /// Extra arguments for pip-audit.
        pub args: Vec<String>,
    }
}

/// The `pip-audit` factory.
pub const PIP_AUDIT_CHECK: CheckerFactory = CheckerFactory {
    id: "pip-audit",
    build: |source| Ok(Arc::new(PipAuditChecker { options: source.section("pip-audit")? })),
};

#[derive(Debug)]
struct PipAuditChecker {
    options: PipAuditOptions,
}

/// What pip-audit audits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// The distributions installed in a site-packages directory.
    Environment(PathBuf),
    /// Requirements files, relative to the project root.
    Requirements(Vec<String>),
}

/// Where the vulnerability data comes from, for messages.
#[derive(Debug, Clone)]
enum Source {
    /// The offline database, served on loopback.
    Database { path: PathBuf, advisories: usize },
    /// pip-audit's own service.
    Service(Service),
}

impl Service {
    /// The value of pip-audit's `--vulnerability-service`.
    fn as_str(self) -> &'static str {
        match self {
            Service::Pypi => "pypi",
            Service::Osv => "osv",
        }
    }
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Database { path, advisories } => {
                format!("the advisory database at {} ({advisories} advisories)", path.display())
            }
            Source::Service(Service::Pypi) => "PyPI's vulnerability service".to_string(),
            Source::Service(Service::Osv) => "OSV (api.osv.dev)".to_string(),
        }
    }
}

#[async_trait]
impl Checker for PipAuditChecker {
    fn id(&self) -> &'static str {
        "pip-audit"
    }

    fn info(&self) -> CheckerInfo {
        let offline = self.options.advisory_db.is_some();
        CheckerInfo {
            tools: vec![PIP_AUDIT],
            needs: if self.options.requirements.is_empty() { vec![ENVIRONMENT] } else { Vec::new() },
            default_timeout: Duration::from_secs(600),
            cpu_bound: false,
            // Without an offline database, the verdict depends on a remote service.
            network: !offline,
            // Offline, the database's files are part of the key (`cache_state`); online, the
            // result is kept only for `network-ttl`.
            cacheable: true,
            expected: Duration::from_secs(5),
            homepage: Some("https://github.com/pypa/pip-audit"),
            ..CheckerInfo::new("pip-audit")
        }
    }

    /// The dependency files (the resolved environment is in the key through its own key):
    /// `pyproject.toml`, `setup.py`, `setup.cfg`, lock files, requirements files and what
    /// the options name; with requirements files configured, every `.txt` file (they
    /// include one another with `-r`).
    fn reads(&self, _project: &Project) -> Reads {
        let configured = !self.options.requirements.is_empty();
        Reads::Only(FileSet {
            extensions: if configured { vec!["txt", "in"] } else { Vec::new() },
            names: vec!["pyproject.toml", "setup.py", "setup.cfg", "uv.lock", "poetry.lock", "Pipfile.lock"],
            prefixed: vec![("requirements", "txt"), ("requirements", "in"), ("constraints", "txt"), ("pylock", "toml")],
            paths: self.options.requirements.clone(),
            ..FileSet::default()
        })
    }

    fn detect(&self, project: &Project) -> Detection {
        if !self.options.requirements.is_empty() {
            Detection::applies("requirements configured in [tool.greenlight.pip-audit]")
        } else if project.has_pyproject() {
            Detection::applies("pyproject.toml found")
        } else if let Some(file) = root_requirements(project).first() {
            Detection::applies(format!("{file} found"))
        } else {
            Detection::not_applicable("no pyproject.toml or requirements*.txt")
        }
    }

    /// The advisory database's files (path, size, modification time) when auditing offline;
    /// online nothing (the orchestrator keeps an online result only for `network-ttl`).
    async fn cache_state(&self, cx: &CheckContext) -> Option<String> {
        match self.database_path(cx) {
            Some(path) => tokio::task::spawn_blocking(move || AdvisoryDb::fingerprint(&path)).await.ok()?,
            None => Some(String::new()),
        }
    }

    /// Online unless a database is given (configuration, `--advisory-db`, the variable).
    fn online(&self, cx: &CheckContext) -> bool {
        self.database_path(cx).is_none()
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let pip_audit = cx.tool(&PIP_AUDIT)?;
        let features = compat::Features::of(&cx.resolved(&PIP_AUDIT)?.version);
        let target = self.target(cx)?;
        // The offline database, served for the duration of the check only.
        let loaded = self.load_database(cx).await?;
        let server = match &loaded {
            Some(loaded) => Some(advisory::serve(loaded.db.clone()).await.map_err(|error| {
                CheckError::errored(format!("not audited: cannot serve the advisory database on 127.0.0.1: {error}"))
            })?),
            None => None,
        };
        let report_file = cx.scratch.join("pip-audit.json");
        let _ = std::fs::remove_file(&report_file);
        let mut audit = pip_audit.args(self.audit_args(&report_file, &target, server.as_ref(), features));
        if let Some(server) = &server {
            let no_proxy = no_proxy(cx);
            audit = audit.env("NO_PROXY", &no_proxy).env("no_proxy", &no_proxy);
            if !features.osv_url {
                // A release without `--osv-url`: its queries are redirected by a shim.
                let shim = cx.scratch.join("osv-shim");
                std::fs::create_dir_all(&shim)
                    .and_then(|()| std::fs::write(shim.join("sitecustomize.py"), compat::OSV_SHIM))
                    .map_err(|error| {
                        CheckError::errored(format!("not audited: cannot write {}: {error}", shim.display()))
                    })?;
                audit = audit.env("PYTHONPATH", &shim).env(compat::OSV_URL_VAR, server.query_url());
            }
        }
        let output = audit.run().await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        let output = output?;

        let report = std::fs::read(&report_file).ok();
        let locator = locator(cx, &target);
        let context = Context {
            project_name: cx.project.pyproject.as_ref().and_then(|p| p.name.as_deref()).map(normalize_name),
            source: match &loaded {
                Some(loaded) => Source::Database { path: loaded.path.clone(), advisories: loaded.db.len() },
                None => Source::Service(self.options.service.unwrap_or_default()),
            },
            database: loaded.as_ref().map(|loaded| &*loaded.db),
            target: &target,
            locator: &locator,
            warnings: loaded.as_ref().map_or(&[], |loaded| loaded.warnings.as_slice()),
            root: &cx.project.root,
        };
        Ok(output.attach(interpret(output.code(), report.as_deref(), &output.stderr.text(), &context)))
    }
}

/// Where findings point: the lines that declare each package (or the package that requires it).
fn locator(cx: &CheckContext, target: &Target) -> Locator {
    match target {
        Target::Environment(site_packages) => {
            Locator::new(&cx.project, &root_requirements(&cx.project)).with_environment(site_packages)
        }
        Target::Requirements(files) => Locator::new(&cx.project, files),
    }
}

/// An advisory database loaded for this run.
struct Loaded {
    path: PathBuf,
    db: Arc<AdvisoryDb>,
    warnings: Vec<LoadWarning>,
}

impl PipAuditChecker {
    /// The arguments of pip-audit (after the program), with the advisory endpoint when one
    /// serves.
    fn audit_args(
        &self,
        report_file: &Path,
        target: &Target,
        server: Option<&AdvisoryServer>,
        features: compat::Features,
    ) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["--format", "json", "--output"].map(Into::into).to_vec();
        args.push(report_file.as_os_str().to_os_string());
        args.extend(["--progress-spinner", "off", "--desc", "on"].map(Into::into));
        if features.aliases_flag {
            args.extend(["--aliases", "on"].map(Into::into));
        }
        for id in &self.options.ignore_vulns {
            args.extend(["--ignore-vuln".into(), id.into()]);
        }
        // Always explicit: `PIP_AUDIT_VULNERABILITY_SERVICE` in the environment would
        // otherwise change the service behind the configuration's back.
        args.push("--vulnerability-service".into());
        match server {
            Some(server) if features.osv_url => {
                args.extend(["osv".into(), "--osv-url".into(), server.query_url().into()])
            }
            Some(_) => args.push("osv".into()),
            None => args.push(self.options.service.unwrap_or_default().as_str().into()),
        }
        match target {
            Target::Environment(site_packages) => {
                args.extend(["--path".into(), site_packages.as_os_str().to_os_string()])
            }
            Target::Requirements(files) => {
                for file in files {
                    args.extend(["--requirement".into(), file.into()]);
                }
                if self.options.no_deps {
                    args.extend(["--no-deps", "--disable-pip"].map(Into::into));
                }
            }
        }
        args.extend(self.options.args.iter().map(Into::into));
        args
    }

    /// The advisory database, when one is given, loaded (from the cache when it can) and noted
    /// in the log.
    async fn load_database(&self, cx: &CheckContext) -> Result<Option<Loaded>, CheckError> {
        let Some(path) = self.database_path(cx) else { return Ok(None) };
        let cache_dir = advisory_cache_dir(cx);
        let load_path = path.clone();
        let loaded = tokio::task::spawn_blocking(move || AdvisoryDb::load_cached(&load_path, cache_dir.as_deref()))
            .await
            .map_err(|error| {
                CheckError::errored(format!("not audited: loading the advisory database failed: {error}"))
            })?;
        let (db, warnings) = loaded.map_err(|error| {
            CheckError::errored(format!(
                "not audited: cannot use the advisory database: {error}\nfix the path given by --advisory-db, {} or [tool.greenlight.pip-audit] advisory-db",
                EnvVars::GREENLIGHT_ADVISORY_DB
            ))
        })?;
        log_database(cx, &db, &warnings);
        Ok(Some(Loaded { path, db: Arc::new(db), warnings }))
    }

    fn target(&self, cx: &CheckContext) -> Result<Target, CheckError> {
        if !self.options.requirements.is_empty() {
            let missing: Vec<&String> =
                self.options.requirements.iter().filter(|file| !cx.project.root.join(file).is_file()).collect();
            if !missing.is_empty() {
                return Err(CheckError::errored(format!(
                    "not audited: the requirements file {} in [tool.greenlight.pip-audit] requirements does not exist",
                    missing.iter().map(|file| format!("`{file}`")).collect::<Vec<_>>().join(", ")
                )));
            }
            return Ok(Target::Requirements(self.options.requirements.clone()));
        }
        // Without pyproject.toml, the requirements files are the project's dependencies (the
        // environment has nothing of the project installed).
        let files = root_requirements(&cx.project);
        if !files.is_empty() && !cx.project.has_pyproject() {
            return Ok(Target::Requirements(files));
        }
        if let Some(environment) = &cx.environment {
            if !environment.site_packages.is_dir() {
                return Err(CheckError::errored(format!(
                    "not audited: the project environment has no {}; rebuild it with `greenlight run --rebuild-env`",
                    environment.site_packages.display()
                )));
            }
            return Ok(Target::Environment(environment.site_packages.clone()));
        }
        Err(CheckError::errored(
            "not audited: there is no project environment to audit (it is disabled); enable [tool.greenlight.environment], or list requirements files in [tool.greenlight.pip-audit] requirements",
        ))
    }

    /// `advisory-db`: relative to the project root in the configuration; `--advisory-db` and
    /// `GREENLIGHT_ADVISORY_DB` set it as an absolute path.
    fn database_path(&self, cx: &CheckContext) -> Option<PathBuf> {
        self.options.advisory_db.as_ref().filter(|path| !path.trim().is_empty()).map(|path| cx.project.root.join(path))
    }
}

/// `requirements*.txt` in the project root, `requirements.txt` first.
fn root_requirements(project: &Project) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(&project.root) else { return Vec::new() };
    let mut files: Vec<String> = entries
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("requirements") && name.ends_with(".txt"))
        .collect();
    files.sort_by_key(|name| (name != "requirements.txt", name.clone()));
    files
}

/// The user cache directory for parsed advisory databases: `$GREENLIGHT_CACHE_DIR`,
/// `$XDG_CACHE_HOME/greenlight` or `~/.cache/greenlight`, then `advisory-db/`.
fn advisory_cache_dir(cx: &CheckContext) -> Option<PathBuf> {
    Some(Env::from(cx.vars.clone()).user_cache_dir()?.join("advisory-db"))
}

/// `NO_PROXY` with loopback added: a configured HTTP proxy must not receive the requests to
/// the local endpoint.
fn no_proxy(cx: &CheckContext) -> String {
    let existing = cx.var(EnvVars::NO_PROXY).or_else(|| cx.var(EnvVars::no_proxy)).unwrap_or_default();
    let mut hosts: Vec<&str> = existing.split(',').map(str::trim).filter(|host| !host.is_empty()).collect();
    for host in ["127.0.0.1", "localhost"] {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts.join(",")
}

/// Notes what was loaded in the check's log.
fn log_database(cx: &CheckContext, db: &AdvisoryDb, warnings: &[LoadWarning]) {
    let log = cx.log();
    let stats = db.stats();
    log.line(&format!(
        "advisory database {}: {} advisories for {} packages from {} files ({} withdrawn, {} other ecosystems, {} malformed; {} from the cache) in {} ms",
        db.root().display(),
        stats.advisories,
        stats.packages,
        stats.files,
        stats.withdrawn,
        stats.other_ecosystems,
        stats.malformed,
        stats.from_cache,
        stats.elapsed.as_millis()
    ));
    for warning in warnings {
        log.line(&format!("advisory database: {}{warning}", if warning.skipped { "skipped " } else { "" }));
    }
}

/// What [`interpret`] needs besides pip-audit's output.
struct Context<'a> {
    /// The project's own distribution (normalized), which is not a dependency.
    project_name: Option<String>,
    source: Source,
    database: Option<&'a AdvisoryDb>,
    target: &'a Target,
    locator: &'a Locator,
    warnings: &'a [LoadWarning],
    root: &'a Path,
}

/// Decides the outcome from pip-audit's exit code, its JSON report and its stderr.
fn interpret(code: i32, report: Option<&[u8]>, stderr: &str, cx: &Context<'_>) -> CheckResult {
    let endpoint = match cx.source {
        Source::Database { .. } => Endpoint::Loopback,
        Source::Service(_) => Endpoint::Service,
    };
    let parsed = report.filter(|bytes| !bytes.iter().all(u8::is_ascii_whitespace)).map(parse_report);
    match (code, parsed) {
        (0 | 1, Some(Ok(report))) => {
            let has_vulns = report
                .dependencies
                .iter()
                .any(|dependency| matches!(dependency, Dependency::Audited { vulns, .. } if !vulns.is_empty()));
            if code == 1 && !has_vulns {
                return failed_run(code, stderr, endpoint);
            }
            decide(&report, cx)
        }
        (_, Some(Err(error))) => CheckResult::errored(format!(
            "not audited: pip-audit wrote a report greenlight cannot read ({error}); run `pip-audit --version` and check it is pip-audit ≥ 2.5\n{}",
            text::last_lines(stderr, 10)
        )),
        (code, _) => failed_run(code, stderr, endpoint),
    }
}

fn failed_run(code: i32, stderr: &str, endpoint: Endpoint) -> CheckResult {
    let message = error_message(stderr);
    let hint = parse::error_hint(&message, endpoint).map(|hint| format!("\n{hint}")).unwrap_or_default();
    let message = if message.is_empty() { "(no output)".to_string() } else { message };
    CheckResult::errored(format!("not audited: pip-audit failed (exit code {code}): {message}{hint}"))
}

fn decide(report: &AuditReport, cx: &Context<'_>) -> CheckResult {
    let is_project = |name: &str| cx.project_name.as_deref() == Some(normalize_name(name).as_str());
    let dependencies: Vec<&Dependency> =
        report.dependencies.iter().filter(|dependency| !is_project(dependency.name())).collect();
    let skipped: Vec<(&str, &str)> = dependencies
        .iter()
        .filter_map(|dependency| match dependency {
            Dependency::Skipped { name, reason } => Some((name.as_str(), reason.as_str())),
            Dependency::Audited { .. } => None,
        })
        .collect();
    let audited: Vec<(&str, &str, &[Vuln])> = dependencies
        .iter()
        .filter_map(|dependency| match dependency {
            Dependency::Audited { name, version, vulns } => Some((name.as_str(), version.as_str(), vulns.as_slice())),
            Dependency::Skipped { .. } => None,
        })
        .collect();

    let mut findings = Vec::new();
    for (name, version, vulns) in &audited {
        for vuln in *vulns {
            findings.push(vulnerability_finding(name, version, vuln, cx));
        }
    }
    for (name, reason) in &skipped {
        findings.push(skipped_finding(name, reason, cx));
    }
    for warning in cx.warnings.iter().filter(|warning| warning.skipped) {
        findings.push(malformed_finding(warning, cx.root));
    }

    let errors = findings.iter().filter(|finding| finding.severity == Severity::Error).count();
    let vulnerable: BTreeSet<&str> = findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .filter_map(|finding| finding.package.as_ref().map(|package| package.name.as_str()))
        .collect();
    let total = dependencies.len();
    let mut notes = Vec::new();
    if !skipped.is_empty() {
        notes.push(format!("{} not audited", skipped.len()));
    }
    if let Some(db) = cx.database {
        let unknown = audited.iter().filter(|(name, _, _)| !db.knows(name)).count();
        if unknown > 0 {
            notes.push(format!("{unknown} unknown to the advisory database"));
        }
    }
    let malformed = cx.warnings.iter().filter(|warning| warning.skipped).count();
    if malformed > 0 {
        notes.push(format!("{} skipped", text::plural(malformed, "malformed advisory file")));
    }
    let tooling = findings
        .iter()
        .filter(|finding| finding.severity == Severity::Warning)
        .filter(|finding| finding.rule != NOT_AUDITED && finding.rule != MALFORMED_ADVISORY)
        .count();
    if tooling > 0 {
        notes.push(format!("{} in environment tooling", text::plural(tooling, "advisory")));
    }
    let suffix = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };

    // The reasons are in the `not-audited` findings; the reason names the packages.
    let skipped_list = {
        let names: Vec<&str> = skipped.iter().map(|(name, _)| *name).take(20).collect();
        let more = skipped.len().saturating_sub(names.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        format!("{}{more}", names.join(", "))
    };
    let not_audited = || {
        let first_reason = skipped.first().map(|(_, reason)| *reason).unwrap_or_default();
        let hint = if first_reason.contains("not found on PyPI") {
            format!(
                "{} did not know these packages or could not be reached (pip-audit treats both as \"not found\")",
                cx.source.describe()
            )
        } else {
            format!("{} could not audit them", cx.source.describe())
        };
        format!(
            "{hint}; audit offline with an advisory database (`greenlight run --advisory-db PATH`, or [tool.greenlight.pip-audit] advisory-db = \"PATH\" pointing at a copy of https://github.com/pypa/advisory-database).\nnot audited: {skipped_list}"
        )
    };

    let result = if report.dependencies.is_empty() {
        let what = match cx.target {
            Target::Environment(path) => format!("in {}", path.display()),
            Target::Requirements(files) => format!("in {}", files.join(", ")),
        };
        CheckResult::errored(format!(
            "not audited: pip-audit found no packages {what}; check that the project environment is built and the requirements files list dependencies"
        ))
    } else if total == 0 {
        CheckResult::passed("no dependencies to audit besides the project itself")
    } else if audited.is_empty() {
        let mut result = CheckResult::errored(format!(
            "not audited: all {} were skipped\n{}",
            text::plural(total, "dependency"),
            not_audited()
        ));
        result.summary = format!("not audited: all {} skipped", text::plural(total, "dependency"));
        result
    } else if errors > 0 {
        let mut result = CheckResult::failed(format!(
            "{} in {} of {}{suffix}",
            text::plural(errors, "known vulnerability"),
            vulnerable.len(),
            text::plural(total, "package")
        ));
        if skipped.len() * 2 > total {
            result.reason =
                Some(format!("only {} of {} dependencies were audited: {}", audited.len(), total, not_audited()));
        }
        result
    } else if skipped.len() * 2 > total {
        let mut result = CheckResult::errored(format!(
            "not audited: {} of {} dependencies were skipped\n{}",
            skipped.len(),
            total,
            not_audited()
        ));
        result.summary = format!("not audited: {} of {} dependencies skipped", skipped.len(), total);
        result
    } else {
        CheckResult::passed(format!("no known vulnerabilities in {}{suffix}", text::plural(audited.len(), "package")))
    };
    result.with_findings(findings)
}

fn vulnerability_finding(name: &str, version: &str, vuln: &Vuln, cx: &Context<'_>) -> Finding {
    let located = cx.locator.locate(name);
    let via = located.required_by.as_deref().map(|root| format!(" (required by {root})")).unwrap_or_default();
    let tooling = !located.required && ENVIRONMENT_TOOLING.contains(&normalize_name(name).as_str());
    let description = vuln.description.as_deref().unwrap_or("no description");
    let fixed = if vuln.fix_versions.is_empty() {
        " (no fixed release)".to_string()
    } else {
        format!(" (fixed in {})", vuln.fix_versions.join(", "))
    };
    let mut message = format!("{name} {version}{via}: {}{fixed}", text::clip_words(description, 200));
    if tooling {
        message.push_str("; installed in the project environment by its installer, not required by the project");
    }
    let mut finding = Finding::new(vuln.id.clone(), message, located.location);
    finding.severity = if tooling { Severity::Warning } else { Severity::Error };
    finding.kind = FindingKind::Vulnerability;
    finding.fingerprint = fingerprint(&["pip-audit", &vuln.id, &normalize_name(name)]);
    finding.url = Some(format!("https://osv.dev/vulnerability/{}", vuln.id));
    finding.title = Some(format!("{} in {name} {version}", vuln.id));
    finding.help = Some(match upgrade_to(version, &vuln.fix_versions) {
        Some(fixed) if located.required_by.is_some() => format!(
            "upgrade {name} to {fixed} or later (it comes with {}; upgrade that, or constrain {name})",
            located.required_by.as_deref().unwrap_or_default()
        ),
        Some(fixed) => format!("upgrade {name} to {fixed} or later"),
        None => format!(
            "no fixed release of {name} is known: replace or remove it, or, if it does not apply to you, add {} to [tool.greenlight.pip-audit] ignore-vulns",
            vuln.id
        ),
    });
    finding.package = Some(PackageRef { name: name.to_string(), version: version.to_string() });
    // pip-audit before 2.7 reports no aliases; the advisory database has them.
    finding.aliases = match cx.database.and_then(|db| db.get(&vuln.id)) {
        Some(advisory) if vuln.aliases.is_empty() => advisory.aliases.clone(),
        _ => vuln.aliases.clone(),
    };
    finding.fix_versions = vuln.fix_versions.clone();
    finding
}

fn skipped_finding(name: &str, reason: &str, cx: &Context<'_>) -> Finding {
    let located = cx.locator.locate(name);
    // pip-audit ends its reasons with `: name (version)`.
    let (reason, version) = match reason.rsplit_once(": ") {
        Some((head, tail)) if tail.ends_with(')') && tail.contains(" (") => {
            let version = tail.rsplit_once(" (").map(|(_, version)| version.trim_end_matches(')')).unwrap_or_default();
            (head, version)
        }
        _ => (reason, ""),
    };
    let package = if version.is_empty() { name.to_string() } else { format!("{name} {version}") };
    let mut finding = Finding::new(NOT_AUDITED, format!("{package} not audited: {reason}"), located.location);
    finding.severity = Severity::Warning;
    finding.kind = FindingKind::Vulnerability;
    finding.fingerprint = fingerprint(&["pip-audit", NOT_AUDITED, &normalize_name(name)]);
    finding.title = Some(format!("{name} not audited"));
    finding.package = Some(PackageRef { name: name.to_string(), version: version.to_string() });
    finding
}

fn malformed_finding(warning: &LoadWarning, root: &Path) -> Finding {
    let path = greenlight_checker::relative_to(root, &warning.path);
    // A database inside the project gives the finding a place; one elsewhere has none.
    let location = warning.path.starts_with(root).then(|| greenlight_checker::Location::at(path.as_str(), None, None));
    let mut finding = Finding::new(MALFORMED_ADVISORY, format!("{path}: {}; skipped", warning.message), location);
    finding.severity = Severity::Warning;
    finding.kind = FindingKind::Vulnerability;
    finding.title = Some("malformed advisory file".to_string());
    finding.help = Some("fix or remove the file; the other advisories were used".to_string());
    finding
}

/// The lowest fixed version above `installed`, else the lowest one.
fn upgrade_to(installed: &str, fixed: &[String]) -> Option<String> {
    let installed = pep440_rs::Version::from_str(installed).ok();
    let mut candidates: Vec<(pep440_rs::Version, &String)> = fixed
        .iter()
        .filter_map(|text| pep440_rs::Version::from_str(text).ok().map(|version| (version, text)))
        .collect();
    candidates.sort();
    candidates
        .iter()
        .find(|(version, _)| installed.as_ref().is_none_or(|installed| version > installed))
        .or(candidates.first())
        .map(|(_, text)| (*text).clone())
        .or_else(|| fixed.first().cloned())
}

/// Builds the checker directly (tests).
pub fn checker(source: &greenlight_checker::ConfigSource) -> Result<Arc<dyn Checker>, greenlight_checker::ConfigError> {
    (PIP_AUDIT_CHECK.build)(source)
}

#[cfg(test)]
mod tests;
