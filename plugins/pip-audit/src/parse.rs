//! pip-audit's JSON report and its error output (TOOL-FACTS §4).

use serde::Deserialize;

/// pip-audit's JSON report (`-f json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Every dependency pip-audit looked at, in its order.
    pub dependencies: Vec<Dependency>,
}

/// One dependency of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// Resolved and audited.
    Audited {
        /// PEP 503 canonical name.
        name: String,
        /// Installed (or pinned) version.
        version: String,
        /// Known vulnerabilities (ignored ones are left out by pip-audit).
        vulns: Vec<Vuln>,
    },
    /// Not audited, and why (not found by the service, invalid version, editable...).
    Skipped {
        /// PEP 503 canonical name.
        name: String,
        /// pip-audit's reason.
        reason: String,
    },
}

impl Dependency {
    /// The package name.
    pub fn name(&self) -> &str {
        match self {
            Dependency::Audited { name, .. } | Dependency::Skipped { name, .. } => name,
        }
    }
}

/// One vulnerability of a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vuln {
    /// Advisory id (`PYSEC-2018-28`, `GHSA-...`).
    pub id: String,
    /// Versions that fix it, as pip-audit lists them (ascending).
    pub fix_versions: Vec<String>,
    /// Other ids, sorted (pip-audit's own order changes from run to run).
    pub aliases: Vec<String>,
    /// The advisory's summary or details, on one line.
    pub description: Option<String>,
}

#[derive(Deserialize)]
struct RawReport {
    dependencies: Vec<RawDependency>,
}

#[derive(Deserialize)]
struct RawDependency {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    vulns: Option<Vec<RawVuln>>,
    #[serde(default)]
    skip_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawVuln {
    id: String,
    #[serde(default)]
    fix_versions: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Parses pip-audit's JSON report.
pub fn parse_report(bytes: &[u8]) -> Result<AuditReport, serde_json::Error> {
    let raw: RawReport = serde_json::from_slice(bytes)?;
    let dependencies = raw
        .dependencies
        .into_iter()
        .map(|dependency| match (dependency.version, dependency.skip_reason) {
            (Some(version), None) => {
                let vulns = dependency
                    .vulns
                    .unwrap_or_default()
                    .into_iter()
                    .map(|vuln| {
                        let mut aliases = vuln.aliases;
                        aliases.sort();
                        aliases.dedup();
                        aliases.retain(|alias| *alias != vuln.id);
                        let description =
                            vuln.description.map(|text| text.trim().to_string()).filter(|text| !text.is_empty());
                        Vuln { id: vuln.id, fix_versions: vuln.fix_versions, aliases, description }
                    })
                    .collect();
                Dependency::Audited { name: dependency.name, version, vulns }
            }
            (_, Some(reason)) => Dependency::Skipped { name: dependency.name, reason },
            (None, None) => Dependency::Skipped {
                name: dependency.name,
                reason: "pip-audit reported neither a version nor why it skipped it".to_string(),
            },
        })
        .collect();
    Ok(AuditReport { dependencies })
}

/// What pip-audit said when it failed: its `ERROR:` lines, else the last line of a Python
/// traceback (the exception), else the last lines of its output.
pub fn error_message(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("ERROR:"))
        .map(|line| match line.split_once(':') {
            // `ERROR:pip_audit._cli:message`
            Some((logger, message)) if logger.starts_with("pip_audit") => message.trim(),
            _ => line.trim(),
        })
        .collect();
    if !errors.is_empty() {
        return errors.join("\n");
    }
    // argparse: `pip-audit: error: unrecognized arguments: --bogus`.
    if let Some(usage) = stderr.lines().find_map(|line| line.strip_prefix("pip-audit: error: ")) {
        return usage.trim().to_string();
    }
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).filter(|line| !line.trim().is_empty()).collect();
    if lines.iter().any(|line| line.starts_with("Traceback (most recent call last)")) {
        // Exception lines start at column 0; chained exceptions print several tracebacks, and
        // the last exception is what ended the program.
        let exceptions: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|line| !line.starts_with([' ', '\t', '^']))
            .filter(|line| {
                !line.starts_with("Traceback (")
                    && !line.starts_with("The above exception")
                    && !line.starts_with("During handling of the above exception")
            })
            .collect();
        if let Some((last, earlier)) = exceptions.split_last() {
            // `pip_audit._service.interface.ServiceError` alone says nothing; its cause does.
            return match earlier.last() {
                Some(cause) if !last.contains(": ") => format!("{last} (caused by {cause})"),
                _ => last.to_string(),
            };
        }
    }
    let start = lines.len().saturating_sub(15);
    lines[start..].join("\n")
}

/// Where pip-audit sent its queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// greenlight's advisory endpoint on loopback (an offline database).
    Loopback,
    /// A vulnerability service on the network (PyPI, OSV).
    Service,
}

/// What to do about a pip-audit failure, from its message.
pub fn error_hint(message: &str, endpoint: Endpoint) -> Option<&'static str> {
    let unreachable = [
        "ConnectionError",
        "NameResolutionError",
        "Max retries exceeded",
        "ConnectTimeout",
        "Could not connect",
        "Temporary failure in name resolution",
        "Connection refused",
        "ProxyError",
    ];
    if unreachable.iter().any(|needle| message.contains(needle)) {
        return Some(if endpoint == Endpoint::Loopback {
            "pip-audit could not reach greenlight's advisory endpoint on 127.0.0.1; if a proxy is configured, make sure NO_PROXY does not send loopback traffic to it"
        } else {
            "the vulnerability service could not be reached (no network?); audit offline with an advisory database: `greenlight run --advisory-db PATH` or [tool.greenlight.pip-audit] advisory-db = \"PATH\" (a copy of https://github.com/pypa/advisory-database)"
        });
    }
    if message.contains("is not pinned") {
        return Some(
            "with `no-deps = true` every requirement must be pinned with `==`; pin them (pip-compile, `uv export`) or remove `no-deps`",
        );
    }
    if message.contains("ServiceError") || message.contains("HTTPError") {
        return Some(
            "the vulnerability service answered with an error; try again later, or audit offline with `--advisory-db PATH`",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    fn text(name: &str) -> String {
        String::from_utf8(data(name)).unwrap()
    }

    #[test]
    fn vulnerable_environment() {
        let report = parse_report(&data("osv-vulnerable.json")).unwrap();
        let names: Vec<&str> = report.dependencies.iter().map(Dependency::name).collect();
        assert_eq!(names, ["certifi", "chardet", "idna", "requests", "urllib3", "vulnerable-service"]);
        let Dependency::Audited { name, version, vulns } = &report.dependencies[3] else { panic!("audited") };
        assert_eq!((name.as_str(), version.as_str()), ("requests", "2.19.0"));
        let ids: Vec<&str> = vulns.iter().map(|vuln| vuln.id.as_str()).collect();
        assert_eq!(ids, ["PYSEC-2018-28", "PYSEC-2023-74"]);
        assert_eq!(vulns[0].fix_versions, ["2.20.0"]);
        assert_eq!(vulns[0].aliases, ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"], "sorted");
        assert!(vulns[0].description.as_deref().unwrap().starts_with("The Requests package before 2.20.0"));
        let Dependency::Audited { vulns, .. } = &report.dependencies[4] else { panic!("audited") };
        assert!(vulns.len() >= 4, "{vulns:?}");
        assert!(matches!(&report.dependencies[0], Dependency::Audited { vulns, .. } if vulns.is_empty()));
    }

    #[test]
    fn every_dependency_skipped_offline() {
        let report = parse_report(&data("pypi-all-skipped.json")).unwrap();
        assert_eq!(report.dependencies.len(), 6, "five dependencies and the project itself");
        for dependency in &report.dependencies {
            let Dependency::Skipped { reason, .. } = dependency else { panic!("{dependency:?} is skipped") };
            assert!(reason.starts_with("Dependency not found on PyPI and could not be audited"), "{reason}");
        }
    }

    #[test]
    fn minimal_vulns_without_aliases_or_description() {
        let json = br#"{"dependencies": [{"name": "jinja2", "version": "2.4.1", "vulns": [{"id": "PYSEC-2019-217", "fix_versions": []}]}], "fixes": []}"#;
        let report = parse_report(json).unwrap();
        let Dependency::Audited { vulns, .. } = &report.dependencies[0] else { panic!("audited") };
        assert_eq!(
            vulns[0],
            Vuln { id: "PYSEC-2019-217".into(), fix_versions: vec![], aliases: vec![], description: None }
        );
    }

    #[test]
    fn not_a_report() {
        assert!(parse_report(b"").is_err());
        assert!(parse_report(b"No known vulnerabilities found").is_err());
        assert!(parse_report(br#"{"fixes": []}"#).unwrap_err().to_string().contains("dependencies"));
    }

    #[test]
    fn traceback_gives_the_exception() {
        let message = error_message(&text("osv-unreachable.stderr"));
        assert!(
            message.starts_with("requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev'"),
            "{message}"
        );
        let hint = error_hint(&message, Endpoint::Service).unwrap();
        assert!(hint.contains("--advisory-db"), "{hint}");
        assert!(error_hint(&message, Endpoint::Loopback).unwrap().contains("127.0.0.1"));
    }

    #[test]
    fn error_lines_are_preferred() {
        let message = error_message(&text("unpinned-no-deps.stderr"));
        assert!(
            message.starts_with("requirement requests is not pinned to an exact version: requests>=2"),
            "{message}"
        );
        assert!(error_hint(&message, Endpoint::Service).unwrap().contains("pinned"));
    }

    #[test]
    fn service_error_from_the_endpoint() {
        let message = error_message(&text("osv-http-500.stderr"));
        assert!(
            message.starts_with(
                "pip_audit._service.interface.ServiceError (caused by requests.exceptions.HTTPError: 500 Server Error"
            ),
            "{message}"
        );
        assert!(error_hint(&message, Endpoint::Loopback).is_some());
    }

    #[test]
    fn connection_refused_on_loopback() {
        let message = error_message(&text("osv-refused.stderr"));
        assert!(
            message.starts_with("requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1'"),
            "{message}"
        );
        assert!(error_hint(&message, Endpoint::Loopback).unwrap().contains("NO_PROXY"));
    }

    #[test]
    fn usage_errors() {
        let stderr = "usage: pip-audit [-h] [-V]\npip-audit: error: unrecognized arguments: --bogus\n";
        assert_eq!(error_message(stderr), "unrecognized arguments: --bogus");
    }

    #[test]
    fn plain_output_gives_its_tail() {
        assert_eq!(error_message("one\n\ntwo\n"), "one\ntwo");
    }
}
