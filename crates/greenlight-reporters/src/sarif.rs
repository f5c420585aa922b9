//! SARIF 2.1.0 (`--sarif FILE`) for GitHub code scanning and other SARIF consumers.
//!
//! Shape, and why:
//!
//! - **One run per check, each with its own `tool.driver.name`** (`ruff`, `ruff format`,
//!   `gitleaks`, `pip-audit`, ...: the tool name its checker declares in the report): GitHub
//!   rejects an upload with two runs of one tool and category.
//! - **`automationDetails.id` per project** ([`category`]: `greenlight/` for a project at the
//!   repository root, `greenlight/services/api/` for one in a subdirectory, or
//!   [`SarifOptions::category`]): code scanning keeps one analysis per tool and category, so
//!   two services of one monorepo never replace each other's alerts. `upload-sarif` keeps an
//!   `automationDetails` the file has; the recipes pass the same category.
//! - **Only checks that decided** (passed or failed) get a run. A run is the complete list of
//!   open alerts for its tool: an empty run of a check that errored, timed out or was skipped
//!   would close every alert it had found before. Such checks are listed in
//!   [`Sarif::notes`] instead.
//! - Test results (pytest) and pull-request policy are not code-scanning alerts; JUnit and the
//!   annotations carry them.
//! - Every rule has `shortDescription`, `fullDescription` and `help`; every result has a
//!   message, one location and `partialFingerprints`, from the finding's fingerprint: for a
//!   finding on a line, its content and neighbours, not the line number
//!   ([`greenlight_report::fingerprint`]), so code scanning keeps an alert when lines are added
//!   above it.
//! - Locations are relative to the repository root (finding paths prefixed with
//!   `project.path_in_repo`), percent-encoded, under `uriBaseId` `%SRCROOT%`, which
//!   `originalUriBaseIds` maps to the checkout as a `file:` URI. Lines and columns are 1-based;
//!   an end column that does not lie after the start is dropped.
//! - A finding without a place (a vulnerable transitive dependency, a packaging problem) is
//!   put on line 1 of the file its checker names ([`greenlight_report::ToolFacts::fallback_path`]:
//!   `pyproject.toml`, the Dockerfile), because GitHub rejects a result without a location.
//! - GitHub's limits (20 runs per upload, 25,000 results per run) are kept: the most severe
//!   results are kept first, and what was cut is said in the run's
//!   `invocations[0].toolExecutionNotifications` and in [`Sarif::notes`].

use std::collections::BTreeMap;

use greenlight_report::{CheckReport, Finding, FindingKind, Location, RunReport, Severity};
use serde::Serialize;

use crate::common::{code_checks, code_findings, facts, kind_rank, place_or_fallback, prepare, severity_rank};
use crate::text::first_line;

/// The `$schema` written: the one GitHub documents and accepts.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Limits of the output (GitHub code scanning's by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SarifOptions {
    /// Most runs in the file (GitHub: 20).
    pub max_runs: usize,
    /// Most results in one run (GitHub: 25,000).
    pub max_results_per_run: usize,
    /// The code scanning category (`--sarif-category`); default [`category`] of the report.
    pub category: Option<String>,
}

impl Default for SarifOptions {
    fn default() -> Self {
        Self { max_runs: 20, max_results_per_run: 25_000, category: None }
    }
}

/// The code scanning category of a report's analyses: `greenlight` for a project at the
/// repository root, `greenlight/<path in the repository>` for one below it.
pub fn category(report: &RunReport) -> String {
    match report.project.path_in_repo.as_deref().map(|path| path.trim_matches('/')) {
        Some(path) if !path.is_empty() && path != "." => format!("greenlight/{path}"),
        _ => "greenlight".to_string(),
    }
}

/// `automationDetails.id` of a category: everything up to the last `/` is the category, so
/// it ends with one (no run id of its own).
fn automation_id(category: &str) -> String {
    format!("{}/", category.trim_end_matches('/'))
}

/// A rendered SARIF file and what a reader of the file should know about what is not in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sarif {
    /// The SARIF document, pretty-printed, with a trailing newline.
    pub text: String,
    /// Checks left out and results cut, one sentence each (for a warning on the terminal).
    pub notes: Vec<String>,
}

/// The report as SARIF 2.1.0 with GitHub's default limits.
pub fn render(report: &RunReport) -> Sarif {
    render_with(report, &SarifOptions::default())
}

/// The report as SARIF 2.1.0 within `options`' limits.
pub fn render_with(report: &RunReport, options: &SarifOptions) -> Sarif {
    let report = prepare(report);
    let base = source_root_uri(&report);
    let automation = automation_id(options.category.as_deref().unwrap_or(&category(&report)));
    let (checks, mut notes) =
        code_checks(&report, "the SARIF file has no run for it (code scanning keeps its earlier alerts)");
    let mut runs = Vec::new();
    for check in checks {
        runs.push(run(&report, check, &base, &automation, options, &mut notes));
    }
    if runs.len() > options.max_runs {
        // Keep the runs with the most severe results.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by_key(|&index| std::cmp::Reverse(runs[index].weight));
        let kept: Vec<usize> = order[..options.max_runs].to_vec();
        let dropped: Vec<String> = order[options.max_runs..].iter().map(|&index| runs[index].check.clone()).collect();
        notes.push(format!(
            "the SARIF file holds at most {} runs; left out: {}",
            options.max_runs,
            dropped.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
        ));
        runs = runs.into_iter().enumerate().filter(|(index, _)| kept.contains(index)).map(|(_, run)| run).collect();
    }
    let log =
        SarifLog { schema: SCHEMA_URI, version: "2.1.0", runs: runs.into_iter().map(|built| built.run).collect() };
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    Sarif { text, notes }
}

struct BuiltRun {
    check: String,
    weight: (u8, usize),
    run: Run,
}

fn run(
    report: &RunReport,
    check: &CheckReport,
    base: &Option<String>,
    automation: &str,
    options: &SarifOptions,
    notes: &mut Vec<String>,
) -> BuiltRun {
    let tool = check.tool_facts();
    let mut findings = code_findings(check);
    let total = findings.len();
    let mut notifications = Vec::new();
    if total > options.max_results_per_run {
        // Most severe first; the order within a severity stays the report's.
        findings.sort_by_key(|finding| (std::cmp::Reverse(severity_rank(finding.severity)), kind_rank(finding.kind)));
        findings.truncate(options.max_results_per_run);
        let text = format!(
            "{} of {total} results of `{}` are in this run (GitHub's limit is {} per run); the JSON report has them all",
            options.max_results_per_run, check.id, options.max_results_per_run
        );
        notes.push(text.clone());
        notifications.push(Notification { level: "warning", message: Message { text } });
    }

    let mut rules: Vec<Rule> = Vec::new();
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &findings {
        by_rule.entry(finding.rule.as_str()).or_default().push(finding);
    }
    for finding in &findings {
        if rule_index.contains_key(&finding.rule) {
            continue;
        }
        rule_index.insert(finding.rule.clone(), rules.len());
        rules.push(rule(&tool.name, &check.id, &by_rule[finding.rule.as_str()]));
    }

    let mut occurrences: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for finding in &findings {
        let (location, fallback) = place_or_fallback(check, finding);
        let fingerprint = if finding.fingerprint.is_empty() {
            greenlight_report::fingerprint(&[&finding.rule, &finding.message])
        } else {
            finding.fingerprint.clone()
        };
        let occurrence = occurrences.entry(fingerprint.clone()).or_insert(0);
        *occurrence += 1;
        let mut partial = BTreeMap::new();
        partial.insert("primaryLocationLineHash", format!("{}:{occurrence}", short_hash(&fingerprint)));
        partial.insert("greenlightFingerprint/v1", fingerprint.clone());
        let mut text = finding.message.trim_end().to_string();
        let facts = facts(finding);
        if !facts.is_empty() {
            text.push_str(&format!(" ({facts})"));
        }
        if fallback {
            text.push_str(&format!(" [no source location; shown on line 1 of {}]", location.path));
        }
        results.push(SarifResult {
            rule_id: finding.rule.clone(),
            rule_index: rule_index[&finding.rule],
            level: level(finding.severity),
            message: Message { text },
            locations: vec![ResultLocation { physical_location: physical(report, &location) }],
            partial_fingerprints: partial,
            properties: result_properties(finding),
        });
    }

    let version = tool
        .key
        .as_ref()
        .and_then(|key| report.tools.get(key))
        .map(|tool| tool.version.clone())
        .filter(|v| !v.is_empty() && v != "unknown");
    let semantic_version = version.clone().filter(|version| is_semver(version));
    let weight =
        (findings.iter().map(|finding| severity_rank(finding.severity) + 1).max().unwrap_or(0), findings.len());
    let mut original_uri_base_ids = BTreeMap::new();
    if let Some(uri) = base {
        original_uri_base_ids.insert("%SRCROOT%", ArtifactLocationBase { uri: uri.clone() });
    }
    BuiltRun {
        check: check.id.clone(),
        weight,
        run: Run {
            tool: Tool {
                driver: Driver {
                    full_name: format!("{} (greenlight check `{}`)", tool.name, check.id),
                    name: tool.name,
                    version: version.clone(),
                    semantic_version,
                    information_uri: tool.url,
                    rules,
                },
            },
            original_uri_base_ids,
            automation_details: AutomationDetails { id: automation.to_string() },
            invocations: vec![Invocation {
                execution_successful: true,
                exit_code: check.exit_code,
                tool_execution_notifications: notifications,
            }],
            results,
            column_kind: "unicodeCodePoints",
            properties: RunProperties {
                greenlight: RunFacts {
                    check: check.id.clone(),
                    outcome: check.outcome.as_str(),
                    summary: check.summary.clone(),
                    results_total: total,
                    results_kept: findings.len(),
                },
            },
        },
    }
}

fn rule(driver: &str, check: &str, findings: &[&Finding]) -> Rule {
    let first = findings[0];
    let short = match &first.title {
        Some(title) if findings.iter().all(|finding| finding.title == first.title) => first_line(title).to_string(),
        _ => format!("{driver} {}", first.rule),
    };
    // A message describes the rule only for lint, format and advisories, and only when every
    // result says the same.
    let describes_rule = matches!(first.kind, FindingKind::Lint | FindingKind::Format | FindingKind::Vulnerability);
    let same_message = findings.iter().all(|finding| finding.message == first.message);
    let full = if describes_rule && same_message && !first_line(&first.message).is_empty() {
        first.message.trim().to_string()
    } else {
        kind_sentence(first.kind, driver, &first.rule)
    };
    let help = match (findings.iter().find_map(|finding| finding.help.clone()), &first.url) {
        (Some(help), Some(url)) => format!("{help}\nSee {url}"),
        (Some(help), None) => help,
        (None, Some(url)) => format!("See {url}"),
        (None, None) => {
            format!("Run `greenlight run {check}` to reproduce; the check's log has the full output of {driver}.")
        }
    };
    let severity = findings.iter().map(|finding| finding.severity).max_by_key(|severity| severity_rank(*severity));
    let severity = severity.unwrap_or(Severity::Error);
    let mut tags = vec![kind_name(first.kind).to_string()];
    let security_severity = match first.kind {
        FindingKind::Secret => Some("9.0"),
        FindingKind::Vulnerability => Some(match severity {
            Severity::Error => "7.0",
            Severity::Warning => "4.0",
            Severity::Note => "2.0",
        }),
        _ => None,
    };
    if security_severity.is_some() {
        tags.push("security".to_string());
    }
    Rule {
        id: first.rule.clone(),
        short_description: Message { text: short },
        full_description: Message { text: full },
        help: Message { text: help },
        help_uri: first.url.clone().filter(|url| url.starts_with("https://") || url.starts_with("http://")),
        default_configuration: Configuration { level: level(severity) },
        properties: RuleProperties {
            tags,
            precision: "very-high",
            problem_severity: match severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "recommendation",
            },
            security_severity,
        },
    }
}

fn kind_sentence(kind: FindingKind, driver: &str, rule: &str) -> String {
    match kind {
        FindingKind::Lint => format!("{driver} reports a violation of its rule {rule}."),
        FindingKind::Format => format!("The file is not formatted the way {driver} formats it."),
        FindingKind::Test => "A test failed.".to_string(),
        FindingKind::Secret => {
            format!("A secret matching the {driver} rule {rule} is in the repository or its history.")
        }
        FindingKind::Vulnerability => format!("A dependency has the known vulnerability {rule}."),
        FindingKind::Build => format!("{driver} found a packaging or image problem ({rule})."),
        FindingKind::Policy => format!("The change breaks the policy rule {rule}."),
    }
}

fn kind_name(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Lint => "lint",
        FindingKind::Format => "format",
        FindingKind::Test => "test",
        FindingKind::Secret => "secret",
        FindingKind::Vulnerability => "vulnerability",
        FindingKind::Build => "build",
        FindingKind::Policy => "policy",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn physical(report: &RunReport, location: &Location) -> PhysicalLocation {
    let start_line = location.line.filter(|line| *line >= 1).unwrap_or(1);
    let start_column = location.column.filter(|column| *column >= 1);
    let end_line = location.end_line.filter(|end| *end >= start_line);
    let same_line = end_line.is_none_or(|end| end == start_line);
    let end_column = match (start_column, location.end_column) {
        (Some(start), Some(end)) if same_line && end > start => Some(end),
        (_, Some(end)) if !same_line && end >= 1 => Some(end),
        _ => None,
    };
    PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: encode_path(&report.project.repo_path(&location.path)),
            uri_base_id: "%SRCROOT%",
        },
        region: Region { start_line, start_column, end_line, end_column },
    }
}

fn result_properties(finding: &Finding) -> Option<ResultProperties> {
    let properties = ResultProperties {
        package: finding.package.as_ref().map(|package| package.name.clone()),
        version: finding.package.as_ref().map(|package| package.version.clone()),
        fix_versions: finding.fix_versions.clone(),
        aliases: finding.aliases.clone(),
        commit: finding.commit.as_ref().map(|commit| commit.sha.clone()).filter(|sha| !sha.is_empty()),
        fixable: finding.fix_available.then_some(true),
    };
    let empty = properties.package.is_none()
        && properties.fix_versions.is_empty()
        && properties.aliases.is_empty()
        && properties.commit.is_none()
        && properties.fixable.is_none();
    (!empty).then_some(properties)
}

/// The repository root as a `file:` URI ending in `/`, when the project root is absolute.
fn source_root_uri(report: &RunReport) -> Option<String> {
    let root = report.project.root.trim_end_matches('/');
    if !root.starts_with('/') {
        return None;
    }
    let repo = match report.project.path_in_repo.as_deref().map(|prefix| prefix.trim_matches('/')) {
        Some(prefix) if !prefix.is_empty() => root.strip_suffix(prefix).map(|rest| rest.trim_end_matches('/'))?,
        _ => root,
    };
    Some(format!("file://{}/", encode_path(repo)))
}

/// Percent-encodes a `/`-separated path for a URI: everything but unreserved characters and
/// `/` (so `:` cannot read as a scheme, and `%`, `,`, spaces and non-ASCII are safe).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// 16 hex digits of any fingerprint (ours are already; gitleaks' are `commit:file:rule:line`).
fn short_hash(fingerprint: &str) -> String {
    if fingerprint.len() == 16 && fingerprint.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        fingerprint.to_string()
    } else {
        greenlight_report::fingerprint(&[fingerprint])
    }
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
}

#[derive(Serialize)]
struct SarifLog {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocationBase>,
    automation_details: AutomationDetails,
    invocations: Vec<Invocation>,
    results: Vec<SarifResult>,
    column_kind: &'static str,
    properties: RunProperties,
}

#[derive(Serialize)]
struct AutomationDetails {
    id: String,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: String,
    full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    semantic_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<String>,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    short_description: Message,
    full_description: Message,
    help: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<String>,
    precision: &'static str,
    #[serde(rename = "problem.severity")]
    problem_severity: &'static str,
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<&'static str>,
}

#[derive(Serialize)]
struct Message {
    text: String,
}

#[derive(Serialize)]
struct ArtifactLocationBase {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Message,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Message,
    locations: Vec<ResultLocation>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultLocation {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fix_versions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixable: Option<bool>,
}

#[derive(Serialize)]
struct RunProperties {
    greenlight: RunFacts,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunFacts {
    check: String,
    outcome: &'static str,
    summary: String,
    results_total: usize,
    results_kept: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded() {
        assert_eq!(encode_path("apps/api/a,b:c%d.py"), "apps/api/a%2Cb%3Ac%25d.py");
        assert_eq!(encode_path("routes/café.py"), "routes/caf%C3%A9.py");
        assert_eq!(encode_path("a b/c~d-e_f.g"), "a%20b/c~d-e_f.g");
    }

    #[test]
    fn semver() {
        assert!(is_semver("0.17.6"));
        assert!(is_semver("1.0.0-rc.1"));
        assert!(!is_semver("8.16"));
        assert!(!is_semver("unknown"));
    }

    #[test]
    fn short_hashes() {
        assert_eq!(short_hash("0123456789abcdef"), "0123456789abcdef");
        assert_eq!(short_hash("sha:file:rule:2").len(), 16);
    }
}
