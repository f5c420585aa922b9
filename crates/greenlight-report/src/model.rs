//! The serde data model of the JSON report (contract: see `docs/report-format.md`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::test_results::TestSummary;

/// The result of one `greenlight run`: every check, every finding, every tool used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunReport {
    /// Schema version of this document ([`crate::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Version of greenlight that wrote the report.
    pub greenlight_version: String,
    /// Unique id of the run; names the log directory `.greenlight/logs/<run_id>/`.
    #[serde(default)]
    pub run_id: String,
    /// The worst outcome of all checks (see [`Outcome::worst`]).
    pub outcome: Outcome,
    /// True when the run was interrupted (Ctrl-C); the report is partial.
    #[serde(default)]
    pub interrupted: bool,
    /// The project that was checked.
    pub project: ProjectInfo,
    /// Start time, RFC 3339 in UTC.
    pub started_at: String,
    /// Wall-clock duration of the whole run.
    pub duration_ms: u64,
    /// Every tool that was resolved for this run, by tool name.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolInfo>,
    /// One entry per check and setup step, sorted by id.
    pub checks: Vec<CheckReport>,
    /// `--as-of`: the moment the run's Python tools and project environment were resolved as
    /// of. `None` for a run with today's tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<AsOfInfo>,
    /// What the findings were compared with (`--new-from REV`, a baseline file); each
    /// compared finding then says `baseline: new` or `existing`. `None` without a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::baseline::BaselineInfo>,
}

/// The moment a run's tools and packages were resolved as of (`--as-of`), and where it came
/// from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AsOfInfo {
    /// The moment, RFC 3339 in UTC (`2025-06-10T00:00:00Z`): only what was uploaded to the
    /// package index before it was installed.
    pub date: String,
    /// `date` (given as `--as-of DATE`), `commit` (the committer date of the checked commit,
    /// `--as-of commit`) or `report` (the `as_of` of the `--tools-from` report).
    pub source: String,
    /// With `source: commit`, the commit whose date it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl RunReport {
    /// The check with this id, if it is in the report.
    pub fn check(&self, id: &str) -> Option<&CheckReport> {
        self.checks.iter().find(|check| check.id == id)
    }

    /// Recomputes [`RunReport::outcome`] from the checks.
    pub fn recompute_outcome(&mut self) {
        self.outcome = Outcome::worst(self.checks.iter().map(|check| check.outcome));
    }

    /// Counts checks by outcome, in [`Outcome::ALL`] order; for summaries.
    pub fn counts(&self) -> Vec<(Outcome, usize)> {
        Outcome::ALL
            .iter()
            .map(|outcome| {
                let count = self.checks.iter().filter(|check| check.outcome == *outcome).count();
                (*outcome, count)
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    }
}

/// What was checked: the project root and, when it is a git work tree, the commit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProjectInfo {
    /// Absolute path of the project root.
    pub root: String,
    /// Full sha of `HEAD`, when the project is in a git repository with commits.
    #[serde(default)]
    pub commit: Option<String>,
    /// True when the work tree has uncommitted changes; `None` outside git.
    #[serde(default)]
    pub dirty: Option<bool>,
    /// The revision the user asked for with `--rev`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// Project name from `pyproject.toml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The project root relative to the top of its git work tree, with `/` separators: `""`
    /// when the project is the repository itself, `services/api` in a monorepo; `None` outside
    /// git. Formats read by code hosts (SARIF, GitHub annotations) prefix finding paths with it,
    /// because code hosts resolve paths from the repository root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_in_repo: Option<String>,
}

impl ProjectInfo {
    /// `path` (relative to the project root) relative to the repository root instead, when
    /// the project is in a subdirectory of its repository.
    pub fn repo_path(&self, path: &str) -> String {
        match self.path_in_repo.as_deref().map(|prefix| prefix.trim_matches('/')) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}/{path}"),
            _ => path.to_string(),
        }
    }
}

/// A resolved tool: which binary ran, at which version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ToolInfo {
    /// Version as the tool reports it (`0.17.6`), or `unknown`.
    pub version: String,
    /// Absolute path of the executable.
    pub path: String,
    /// Where it was found: `config`, `environment`, `path`, `provisioned`.
    #[serde(default)]
    pub source: String,
    /// For a tool installed as the release of an `--as-of` moment: that moment (RFC 3339).
    /// `None` for a pinned, found or default tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

/// Whether a report entry is a check or a setup step (the project environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A checker from a plugin.
    #[default]
    Check,
    /// A setup step other checks need, such as the project environment.
    Setup,
}

/// The result of one check (or setup step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CheckReport {
    /// Stable check id (`ruff-check`, `pytest`, ...; contract).
    pub id: String,
    /// Human title (`ruff check`).
    pub title: String,
    /// Check or setup step.
    #[serde(default)]
    pub kind: NodeKind,
    /// What the check concluded.
    pub outcome: Outcome,
    /// One line for tables: `2 findings (1 fixable)`, `112 passed`, `not audited: ...`.
    pub summary: String,
    /// Why the check was skipped, errored, timed out or cancelled, in full sentences that say
    /// what to do next. `None` when it passed or failed on its own.
    #[serde(default)]
    pub reason: Option<String>,
    /// Why it was skipped, as data (with `outcome: skipped`); `reason` says it in words.
    /// Programs read this, never the words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_cause: Option<SkipCause>,
    /// Why the run stopped it or never started it, as data: with `outcome: cancelled`, or
    /// `timed_out` when the run's own timeout stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    /// Wall-clock time of the check.
    pub duration_ms: u64,
    /// The main command line that ran, if any.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Exit code of that command, if it exited normally.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// What the check found. Sorted by location then rule.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Test results (pytest).
    #[serde(default)]
    pub tests: Option<TestSummary>,
    /// `K/N` when this run was shard K of N (`--partition`) and the check ran only its share
    /// of the work (pytest's test files): `report merge` adds the shards' results up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Files or images the check produced (build: wheel, sdist; docker: image).
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// The full output of the tools, on disk, and its last lines.
    #[serde(default)]
    pub log: Option<LogRef>,
    /// True when this result was replayed from the result cache.
    #[serde(default)]
    pub cached: bool,
    /// The tool behind the check as its checker declares it (what renderers need: its name,
    /// home page, whether SARIF applies). `None` for setup steps and in reports written before
    /// checkers declared it; renderers then use [`ToolFacts::unknown`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolFacts>,
    /// `warn` when the check's `severity = "warn"`: its findings are warnings and its failure
    /// does not fail the run (see [`crate::severity`]). Omitted for `block`, the default.
    #[serde(default, skip_serializing_if = "crate::severity::CheckSeverity::is_block")]
    pub severity: crate::severity::CheckSeverity,
}

/// Why a check was `skipped` (serialized as `{"kind": "need_failed", "need": "environment",
/// "outcome": "errored"}`). New kinds may be added: readers treat an unknown kind as skipped
/// for an unknown reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipCause {
    /// Checks were named on the command line (`greenlight run CHECK...`) and this was not.
    NotSelected,
    /// `--skip` named it.
    SkipFlag,
    /// `skip` in the configuration names it.
    SkipConfig,
    /// `enabled = false` in its configuration section.
    Disabled,
    /// Detection found that it does not apply to the project (no Dockerfile, no git).
    NotApplicable,
    /// A node it needs did not succeed.
    NeedFailed {
        /// The node's id (`environment`, a check id).
        need: String,
        /// What that node's outcome was.
        outcome: Outcome,
    },
    /// It ran and found nothing to check (`policy` without a pull request).
    NothingToCheck,
    /// A kind this version does not know (a report written by a newer greenlight).
    #[serde(other)]
    Unknown,
}

impl SkipCause {
    /// True when the check was left out by the user's selection (`CHECK...` named others):
    /// another run (a shard of the pipeline) may have run it.
    pub fn is_deselected(&self) -> bool {
        matches!(self, SkipCause::NotSelected)
    }
}

/// Why the run stopped a check, or never started it (serialized as `"fail_fast"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// `--fail-fast`: another check did not pass.
    FailFast,
    /// The run's own timeout (`--timeout`, `timeout` in the configuration) elapsed.
    Deadline,
    /// The user interrupted the run (Ctrl-C, SIGTERM).
    Interrupted,
}

impl CheckReport {
    /// A new report entry with the given outcome and nothing else filled in.
    pub fn new(id: impl Into<String>, title: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            kind: NodeKind::Check,
            outcome,
            summary: String::new(),
            reason: None,
            skip_cause: None,
            cancel_reason: None,
            duration_ms: 0,
            command: None,
            exit_code: None,
            findings: Vec::new(),
            tests: None,
            shard: None,
            artifacts: Vec::new(),
            log: None,
            cached: false,
            tool: None,
            severity: crate::severity::CheckSeverity::Block,
        }
    }

    /// What renderers know about the tool behind this check: what its checker declared, else
    /// [`ToolFacts::unknown`].
    pub fn tool_facts(&self) -> ToolFacts {
        self.tool.clone().unwrap_or_else(|| ToolFacts::unknown(&self.id))
    }
}

/// What renderers need to know about the tool behind a check, declared by the checker (so that
/// no renderer has to know check ids).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolFacts {
    /// The tool's name for people and SARIF's `tool.driver.name`; distinct for every check
    /// (`ruff format` for `ruff-format`).
    pub name: String,
    /// The key of [`RunReport::tools`] that holds its version (`ruff`); `None` when the check
    /// runs no resolved tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The tool's home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// True when the check's findings are code-scanning alerts (SARIF): not test results
    /// (JUnit carries those) and not pull-request policy (about the PR, not the code).
    #[serde(default = "yes")]
    pub sarif: bool,
    /// The file, relative to the project root, that formats needing a place for every finding
    /// (SARIF) put a finding without one on (`pyproject.toml`, the Dockerfile).
    #[serde(default = "default_fallback_path")]
    pub fallback_path: String,
}

impl ToolFacts {
    /// The facts of a check that declared none: its own tool, named by its id, with SARIF.
    pub fn unknown(check_id: &str) -> Self {
        Self {
            name: check_id.to_string(),
            key: Some(check_id.to_string()),
            url: None,
            sarif: true,
            fallback_path: default_fallback_path(),
        }
    }
}

fn yes() -> bool {
    true
}

/// The project's `pyproject.toml`, where a finding without a place of its own is shown.
pub fn default_fallback_path() -> String {
    "pyproject.toml".to_string()
}

/// The outcome of a check (contract).
///
/// Never turn "could not decide" into [`Outcome::Passed`]: a scan that scanned nothing is
/// [`Outcome::Errored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The check applies and found nothing wrong.
    Passed,
    /// The project is defective by this check (findings, failing tests, a broken build).
    Failed,
    /// The check could not decide: tool missing, crashed, unusable output, service unreachable.
    Errored,
    /// The check ran past its timeout and was killed.
    TimedOut,
    /// The check did not run: disabled, not applicable, or a step it needs did not succeed.
    Skipped,
    /// The run was cancelled (Ctrl-C, `--fail-fast`) before the check finished.
    Cancelled,
}

impl Outcome {
    /// Every outcome, from worst to best.
    pub const ALL: [Outcome; 6] =
        [Outcome::Failed, Outcome::Errored, Outcome::TimedOut, Outcome::Cancelled, Outcome::Passed, Outcome::Skipped];

    /// Severity rank: higher is worse.
    pub fn rank(self) -> u8 {
        match self {
            Outcome::Skipped => 0,
            Outcome::Passed => 1,
            Outcome::Cancelled => 2,
            Outcome::TimedOut => 3,
            Outcome::Errored => 4,
            Outcome::Failed => 5,
        }
    }

    /// The worst of several outcomes; `skipped` when there are none.
    pub fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes.into_iter().max_by_key(|outcome| outcome.rank()).unwrap_or(Outcome::Skipped)
    }

    /// The snake_case name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Errored => "errored",
            Outcome::TimedOut => "timed_out",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// True for outcomes that let dependent checks run.
    pub fn is_success(self) -> bool {
        self == Outcome::Passed
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity of a finding, with SARIF's level names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    Note,
    /// Should be looked at; does not fail the check by itself.
    Warning,
    /// Makes the check fail.
    #[default]
    Error,
}

impl Severity {
    /// The lowercase name (`error`, `warning`, `note`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What kind of problem a finding is; reporters use it to pick wording and SARIF tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A lint rule violation (ruff check).
    #[default]
    Lint,
    /// A file that is not formatted (ruff format).
    Format,
    /// A failing or erroring test (pytest).
    Test,
    /// A leaked secret (gitleaks); the secret itself is never stored.
    Secret,
    /// A known vulnerability in a dependency (pip-audit).
    Vulnerability,
    /// A packaging or image build problem (build, docker).
    Build,
    /// A pull-request policy violation (policy).
    Policy,
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Finding {
    /// Rule or advisory id (`F401`, `aws-access-token`, `PYSEC-2018-28`, `unformatted`).
    pub rule: String,
    /// Error, warning or note.
    pub severity: Severity,
    /// What is wrong, in one or a few lines. Never contains a secret.
    pub message: String,
    /// Where, relative to the project root; `None` for findings without a place.
    pub location: Option<Location>,
    /// True when the tool can fix it automatically (`greenlight run --fix`).
    #[serde(default)]
    pub fix_available: bool,
    /// A stable identity for this finding across runs (SARIF `partialFingerprints`).
    pub fingerprint: String,
    /// Documentation of the rule or advisory.
    #[serde(default)]
    pub url: Option<String>,
    /// What kind of problem it is.
    #[serde(default)]
    pub kind: FindingKind,
    /// A short title for annotations (`ruff F401`); defaults to the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How to fix it, when the tool or greenlight knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Longer text (a traceback excerpt, a build log excerpt). Bounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The package a vulnerability is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// Other ids of the same advisory (CVE, GHSA).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Versions that fix a vulnerability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix_versions: Vec<String>,
    /// The commit a secret was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitRef>,
    /// The fingerprint of the finding's line without its neighbours (see
    /// [`crate::fingerprint`]): a comparison with a baseline falls back to it when the
    /// neighbouring lines changed. `None` for findings not fingerprinted from a line's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_fingerprint: Option<String>,
    /// In a run compared with a baseline (`--new-from`, a baseline file): whether the baseline
    /// had this finding (`existing`) or not (`new`). `None` in a run without a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

/// Whether a finding was in the baseline a run was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    /// The baseline does not have it: this change brought it. Blocks as before.
    New,
    /// The baseline has it (the merge base, or the baseline file): reported, does not block.
    Existing,
}

impl BaselineState {
    /// `new` or `existing`.
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Existing => "existing",
        }
    }
}

impl Finding {
    /// A new error finding; the fingerprint is derived from rule, message and location.
    pub fn new(rule: impl Into<String>, message: impl Into<String>, location: Option<Location>) -> Self {
        let rule = rule.into();
        let message = message.into();
        let fingerprint = match &location {
            Some(location) => fingerprint(&[&rule, &location.path, &location.line.unwrap_or(0).to_string()]),
            None => fingerprint(&[&rule, &message]),
        };
        Self {
            rule,
            severity: Severity::Error,
            message,
            location,
            fix_available: false,
            fingerprint,
            url: None,
            kind: FindingKind::Lint,
            title: None,
            help: None,
            detail: None,
            package: None,
            aliases: Vec::new(),
            fix_versions: Vec::new(),
            commit: None,
            line_fingerprint: None,
            baseline: None,
        }
    }

    /// Sort key: path, line, column, rule, message.
    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        match &self.location {
            Some(location) => (
                location.path.as_str(),
                location.line.unwrap_or(0),
                location.column.unwrap_or(0),
                self.rule.as_str(),
                self.message.as_str(),
            ),
            None => ("", 0, 0, self.rule.as_str(), self.message.as_str()),
        }
    }
}

/// Sorts findings into the report's deterministic order.
///
/// Findings are large, so the order is found on indices and each finding moves once; output
/// that is already sorted (ruff's usually is) is detected in one pass.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    if findings.windows(2).all(|pair| pair[0].sort_key() <= pair[1].sort_key()) {
        return;
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|a, b| findings[*a].sort_key().cmp(&findings[*b].sort_key()));
    let mut slots: Vec<Option<Finding>> = std::mem::take(findings).into_iter().map(Some).collect();
    findings.extend(order.into_iter().filter_map(|index| slots[index].take()));
}

/// A stable fingerprint: the first 16 hex digits of the SHA-256 of the parts joined by NUL.
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A place in a file of the project. Lines and columns are 1-based; the end is exclusive of
/// the column after the region (as SARIF's `endColumn`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Location {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// 1-based last line of the region.
    #[serde(default)]
    pub end_line: Option<u32>,
    /// 1-based column just after the region on `end_line`.
    #[serde(default)]
    pub end_column: Option<u32>,
}

impl Location {
    /// A location at a line (and optionally a column) of a file.
    pub fn at(path: impl Into<String>, line: Option<u32>, column: Option<u32>) -> Self {
        Self { path: path.into(), line, column, end_line: None, end_column: None }
    }

    /// `path:line:col`, as far as known.
    pub fn display(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.path),
            (Some(line), None) => format!("{}:{line}", self.path),
            _ => self.path.clone(),
        }
    }
}

/// A package and version (pip-audit findings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PackageRef {
    /// PEP 503 normalized name.
    pub name: String,
    /// Installed version.
    pub version: String,
}

/// A commit (gitleaks findings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommitRef {
    /// Full sha.
    pub sha: String,
    /// Abbreviated sha (12 digits).
    pub short: String,
    /// Author date, RFC 3339.
    #[serde(default)]
    pub date: Option<String>,
}

/// A file or image a check produced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Artifact {
    /// `wheel`, `sdist`, `image`.
    pub kind: String,
    /// File name or image tag.
    pub name: String,
    /// Where it is (may be a temporary directory that no longer exists).
    pub path: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// SHA-256 of the file, hex, or the image id.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// Where the full output of a check is, and its last lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LogRef {
    /// Path of the log file, relative to the project root when inside it.
    pub path: String,
    /// The last lines of the log (bounded).
    pub tail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_prefers_failed() {
        assert_eq!(Outcome::worst([Outcome::Passed, Outcome::Skipped]), Outcome::Passed);
        assert_eq!(Outcome::worst([Outcome::Errored, Outcome::Failed]), Outcome::Failed);
        assert_eq!(Outcome::worst([]), Outcome::Skipped);
    }

    #[test]
    fn outcome_serializes_snake_case() {
        assert_eq!(serde_json::to_string(&Outcome::TimedOut).unwrap(), "\"timed_out\"");
        let parsed: Outcome = serde_json::from_str("\"cancelled\"").unwrap();
        assert_eq!(parsed, Outcome::Cancelled);
    }

    #[test]
    fn causes_serialize_as_tagged_data() {
        let cause = SkipCause::NeedFailed { need: "environment".into(), outcome: Outcome::Errored };
        assert_eq!(
            serde_json::to_string(&cause).unwrap(),
            r#"{"kind":"need_failed","need":"environment","outcome":"errored"}"#
        );
        assert_eq!(serde_json::to_string(&SkipCause::NotSelected).unwrap(), r#"{"kind":"not_selected"}"#);
        let later: SkipCause = serde_json::from_str(r#"{"kind":"something_new"}"#).unwrap();
        assert_eq!(later, SkipCause::Unknown);
        assert_eq!(serde_json::to_string(&CancelReason::FailFast).unwrap(), "\"fail_fast\"");
        let mut check = CheckReport::new("pytest", "pytest", Outcome::Passed);
        let json = serde_json::to_string(&check).unwrap();
        assert!(!json.contains("skip_cause") && !json.contains("cancel_reason"), "{json}");
        check.cancel_reason = Some(CancelReason::Interrupted);
        let back: CheckReport = serde_json::from_str(&serde_json::to_string(&check).unwrap()).unwrap();
        assert_eq!(back, check);
    }

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fingerprint(&["F401", "a.py", "1"]), fingerprint(&["F401", "a.py", "1"]));
        assert_ne!(fingerprint(&["F401", "a.py", "1"]), fingerprint(&["F401", "a.py1", ""]));
        assert_eq!(fingerprint(&["x"]).len(), 16);
    }
}
