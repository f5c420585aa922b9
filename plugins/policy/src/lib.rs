//! The `policy` checker: the pull-request rules teams enforce in CI.
//!
//! It checks a pull request's body (required sections and metadata keys, refused types,
//! conditional keys, placeholders) and the files it changes since the merge-base with its base
//! (forbidden paths, paths every PR must touch, exemptions by author or label). Each broken
//! rule is a finding that says what is missing and how to fix it.
//!
//! The pull request comes from, in order: the options `pr-body` (set by
//! `greenlight policy --pr-body FILE` and `greenlight run --pr-body FILE`, with `pr-base`,
//! `pr-author` and `pr-labels`), or the GitHub event file `GITHUB_EVENT_PATH` of a
//! `pull_request` event. Without either the check is `skipped`. Changed files come from git
//! (`git merge-base`, `git diff --name-only`, through [`CheckContext::git_cmd`]) and are
//! relative to the repository root.

mod body;
mod github;
mod rules;

use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::env::EnvVars;
use greenlight_checker::process::{Cmd, ExitState, Output, ProcessError};
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigError, ConfigSource, Detection,
    Finding, FindingKind, Location, OptionKey, Outcome, Project, async_trait, check_options, text,
};

pub use body::Body;
pub use github::{EventError, parse_event};
pub use rules::{
    AllowRule, ConditionalKeys, DEFAULT_KEYS, DEFAULT_SECTIONS, PullRequest, Rules, Violation, evaluate, glob_match,
    placeholder,
};

/// The check id.
pub const ID: &str = "policy";
/// `pr-body`: the file with the PR body (`--pr-body`; an absolute path).
pub const PR_BODY: OptionKey<String> = OptionKey::new(ID, "pr-body");
/// `pr-base`: the PR's base revision (`--pr-base`, `greenlight policy --base`).
pub const PR_BASE: OptionKey<String> = OptionKey::new(ID, "pr-base");
/// `pr-author`: the PR author's login, for exemptions (`greenlight policy --author`).
pub const PR_AUTHOR: OptionKey<String> = OptionKey::new(ID, "pr-author");
/// `pr-labels`: the PR's labels, for exemptions (`greenlight policy --label`).
pub const PR_LABELS: OptionKey<Vec<String>> = OptionKey::new(ID, "pr-labels");

check_options! {
    /// Options of `[tool.greenlight.policy]`. Lists left out keep their defaults; an empty list
    /// turns a rule off.
    pub struct PolicyOptions {
        /// Required sections (`BA` for `[BA]`). Default: `BA`, `QA`, `SRE`, `DEV`.
        pub sections: Option<Vec<String>>,
        /// Sections must have some text under their marker. Default: false.
        pub non_empty_sections: bool,
        /// Required metadata keys. Default: `PR_TYPE`, `AUTO_RUN_MODE`, `MILESTONE_ID`, `BLUEPRINT_REF`.
        pub required_keys: Option<Vec<String>>,
        /// Refused `PR_TYPE` values. Default: `WIP`.
        pub refused_types: Option<Vec<String>>,
        /// Keys required when another key has a value. Default: `AUTO_RUN_MODE: GUIDED` requires
        /// `AUTHORIZATION_REASON` and `AUTHORIZED_BY`.
        pub conditional_keys: Option<Vec<ConditionalKeys>>,
        /// Keys whose values must not be placeholders. Default: `MILESTONE_ID`, `BLUEPRINT_REF`.
        pub no_placeholders: Option<Vec<String>>,
        /// Placeholder words (case-insensitive). Default: `PR-###`, `TODO`, `PLACEHOLDER`.
        pub placeholders: Option<Vec<String>>,
        /// Paths no pull request may change (globs, repository-relative).
        pub forbidden_paths: Vec<String>,
        /// Paths every pull request must change (globs; each must match a changed file).
        pub required_paths: Vec<String>,
        /// Exemptions by author or label.
        pub allow: Vec<AllowRule>,
        /// The base revision when none is given (`origin/main`).
        pub base: Option<String>,
        /// The pull request's body, in a file: checks this body instead of the GitHub event's.
        /// Normally given on the command line (`--pr-body FILE`).
        pub pr_body: Option<String>,
        /// The pull request's base, over the event's and `base` (`--pr-base REV`).
        pub pr_base: Option<String>,
        /// The pull request's author, over the event's (`greenlight policy --author`).
        pub pr_author: Option<String>,
        /// The pull request's labels, over the event's (`greenlight policy --label`).
        pub pr_labels: Vec<String>,
    }
}

impl PolicyOptions {
    /// Reads `[tool.greenlight.policy]` from `source`.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        source.section(ID)
    }

    /// The rules, with defaults for what is not configured.
    pub fn rules(&self) -> Rules {
        let defaults = Rules::default();
        Rules {
            sections: self.sections.clone().unwrap_or(defaults.sections),
            non_empty_sections: self.non_empty_sections,
            required_keys: self.required_keys.clone().unwrap_or(defaults.required_keys),
            refused_types: self.refused_types.clone().unwrap_or(defaults.refused_types),
            conditional_keys: self.conditional_keys.clone().unwrap_or(defaults.conditional_keys),
            no_placeholders: self.no_placeholders.clone().unwrap_or(defaults.no_placeholders),
            placeholders: self.placeholders.clone().unwrap_or(defaults.placeholders),
            forbidden_paths: self.forbidden_paths.clone(),
            required_paths: self.required_paths.clone(),
            allow: self.allow.clone(),
        }
    }
}

/// The `policy` factory.
pub const POLICY_CHECK: CheckerFactory =
    CheckerFactory { id: ID, build: |source| Ok(Arc::new(PolicyChecker { options: PolicyOptions::load(source)? })) };

#[derive(Debug)]
struct PolicyChecker {
    options: PolicyOptions,
}

#[async_trait]
impl Checker for PolicyChecker {
    fn id(&self) -> &'static str {
        ID
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            default_timeout: Duration::from_secs(60),
            cpu_bound: false,
            expected: Duration::from_millis(50),
            // Its inputs are outside the project (the body file, the event file, the base's
            // history), where the result cache cannot see; it is cheap anyway.
            cacheable: false,
            tool_name: Some("greenlight policy"),
            // About the pull request, not the code: no code-scanning alerts.
            sarif: false,
            ..CheckerInfo::new("PR policy")
        }
    }

    fn detect(&self, _project: &Project) -> Detection {
        Detection::applies(
            "checks the pull request when one is given (`--pr-body FILE`, or a GitHub `pull_request` event)",
        )
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let mut pr = match pull_request(cx, &self.options)? {
            Given::PullRequest(pr) => pr,
            Given::Nothing(reason) => return Ok(CheckResult::skipped(reason)),
        };
        if pr.base.is_none() {
            pr.base = self.options.base.clone();
        }
        let rules = self.options.rules();
        let changed = if rules.has_path_rules() {
            match changed_files(cx, pr.base.as_deref()).await {
                Err(ChangedFilesError::Stopped) => return Err(CheckError::cancelled()),
                changed => Some(changed),
            }
        } else {
            None
        };
        let files = changed.as_ref().and_then(|changed| changed.as_ref().ok());
        let violations = evaluate(&rules, &pr, files.map(|changed| changed.files.as_slice()));
        let mut result = decide(violations, changed.as_ref().map(|changed| changed.as_ref().map(|c| c.files.len())));
        result.command = files.map(|changed| changed.command.clone());
        Ok(result)
    }
}

/// The verdict from the violations and, when there are path rules, the number of changed
/// files or why they could not be listed.
fn decide(violations: Vec<Violation>, changed: Option<Result<usize, &ChangedFilesError>>) -> CheckResult {
    let findings: Vec<Finding> = violations.into_iter().map(to_finding).collect();
    let problem = changed.and_then(|changed| changed.err());
    if findings.is_empty() {
        return match (problem, changed) {
            (Some(problem), _) => CheckResult::errored(format!(
                "the PR body follows the policy, but the path rules could not be checked: {problem}"
            )),
            (None, Some(Ok(files))) => {
                CheckResult::passed(format!("PR body and {} follow the policy", text::plural(files, "changed file")))
            }
            (None, _) => CheckResult::passed("PR body follows the policy"),
        };
    }
    let mut result = CheckResult::new(Outcome::Failed, text::plural(findings.len(), "policy violation"));
    if let Some(problem) = problem {
        result.reason = Some(format!("the path rules were not checked: {problem}"));
    }
    result.with_findings(findings)
}

/// Where the pull request comes from, if anywhere.
enum Given {
    /// A pull request to check.
    PullRequest(PullRequest),
    /// None, and why (the check is skipped).
    Nothing(String),
}

/// The pull request from `pr-body` (`--pr-body`) or the GitHub event.
fn pull_request(cx: &CheckContext, options: &PolicyOptions) -> Result<Given, CheckError> {
    let given = |value: Option<&str>| value.map(str::trim).filter(|value| !value.is_empty()).map(str::to_string);
    let mut pr = if let Some(file) = given(options.pr_body.as_deref()) {
        let body = std::fs::read(&file).map_err(|error| {
            CheckError::errored(format!(
                "cannot read the PR body `{file}`: {error}; check the path given to `--pr-body`"
            ))
        })?;
        PullRequest { body: String::from_utf8_lossy(&body).into_owned(), ..PullRequest::default() }
    } else if let Some(event_path) = given(cx.var(EnvVars::GITHUB_EVENT_PATH)) {
        let event_name = cx.var(EnvVars::GITHUB_EVENT_NAME).unwrap_or("unknown");
        let json = std::fs::read(&event_path).map_err(|error| {
            CheckError::errored(format!("cannot read the GitHub event file `{event_path}`: {error}"))
        })?;
        match parse_event(&json) {
            Ok(Some(pr)) => pr,
            Ok(None) => {
                return Ok(Given::Nothing(format!(
                    "the GitHub event (`{event_name}`) is not about a pull request; the policy applies to pull requests"
                )));
            }
            Err(error) => {
                return Err(CheckError::errored(format!(
                    "the GitHub event file `{event_path}` cannot be read: {error}"
                )));
            }
        }
    } else {
        return Ok(Given::Nothing(
            "no pull request to check: pass `--pr-body FILE` (and `--pr-base REV` for path rules), or run on a GitHub `pull_request` event".to_string(),
        ));
    };
    if let Some(base) = given(options.pr_base.as_deref()) {
        pr.base = Some(base);
    }
    if let Some(login) = given(options.pr_author.as_deref()) {
        pr.author = Some(login);
    }
    let labels: Vec<String> =
        options.pr_labels.iter().map(|label| label.trim()).filter(|l| !l.is_empty()).map(str::to_string).collect();
    if !labels.is_empty() {
        pr.labels = labels;
    }
    Ok(Given::PullRequest(pr))
}

/// The files a pull request changes, and the command that listed them.
struct Changed {
    files: Vec<String>,
    command: Vec<String>,
}

/// Why the changed files could not be listed (the path rules are then not checked).
#[derive(Debug, thiserror::Error)]
enum ChangedFilesError {
    #[error(
        "no base revision: pass `--pr-base REV` (`--base REV` with `greenlight policy`) or set [tool.greenlight.policy] base"
    )]
    NoBase,
    #[error("cannot run git: {0}")]
    Spawn(#[from] ProcessError),
    #[error(
        "`{command}` failed ({status}): {output}; fetch the base first (`git fetch origin {base}`; on GitHub, `actions/checkout` with `fetch-depth: 0`)"
    )]
    MergeBase { command: String, status: ExitState, output: String, base: String },
    #[error("`{command}` failed: {output}")]
    Diff { command: String, output: String },
    #[error("stopped")]
    Stopped,
}

/// The files changed between the merge-base of `base` and `HEAD`, and `HEAD` (committed
/// changes: what the pull request contains), repository-relative.
async fn changed_files(cx: &CheckContext, base: Option<&str>) -> Result<Changed, ChangedFilesError> {
    let base = base.ok_or(ChangedFilesError::NoBase)?;
    let git = || cx.git_cmd(&cx.project.root).log_file(&cx.log_path);
    let merge_base = git().args(["merge-base", "--end-of-options", base, "HEAD"]);
    let output = run_git(cx, &merge_base).await?;
    if !output.status.success() {
        return Err(ChangedFilesError::MergeBase {
            command: merge_base.display(),
            status: output.status,
            output: output.both_tails(5).trim().to_string(),
            base: base.to_string(),
        });
    }
    let merge_base = output.stdout.text().trim().to_string();
    let diff =
        git().args(["-c", "core.quotepath=off", "diff", "--name-only", "--no-renames", "-z", &merge_base, "HEAD"]);
    let output = run_git(cx, &diff).await?;
    if !output.status.success() {
        return Err(ChangedFilesError::Diff {
            command: diff.display(),
            output: output.both_tails(5).trim().to_string(),
        });
    }
    let files = output.stdout.text().split('\0').filter(|path| !path.is_empty()).map(str::to_string).collect();
    Ok(Changed { files, command: diff.argv() })
}

/// Runs a git command with the check's stop: stopped is [`ChangedFilesError::Stopped`].
async fn run_git(cx: &CheckContext, command: &Cmd) -> Result<Output, ChangedFilesError> {
    let output = command.run(&cx.stop).await?;
    if output.status == ExitState::Cancelled {
        return Err(ChangedFilesError::Stopped);
    }
    Ok(output)
}

fn to_finding(violation: Violation) -> Finding {
    let location = violation.path.as_ref().map(|path| Location::at(path.clone(), None, None));
    let mut finding = Finding::new(violation.rule, violation.message, location);
    finding.kind = FindingKind::Policy;
    finding.title = Some(format!("policy {}", violation.rule));
    finding.help = Some(violation.help);
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_fill_defaults_and_reject_unknown_keys() {
        let source = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.policy]\nsections = ['BA', 'QA']\nforbidden-paths = ['infra/']\n[[tool.greenlight.policy.allow]]\nlabels = ['infra']\n",
            &["tool", "greenlight"],
        );
        let rules = PolicyOptions::load(&source).unwrap().rules();
        assert_eq!(rules.sections, ["BA", "QA"]);
        assert_eq!(rules.required_keys, DEFAULT_KEYS);
        assert_eq!(rules.forbidden_paths, ["infra/"]);
        assert_eq!(rules.allow[0].labels, ["infra"]);
        let source =
            ConfigSource::new("pyproject.toml", "[tool.greenlight.policy]\nsection = []\n", &["tool", "greenlight"]);
        let error = PolicyOptions::load(&source).unwrap_err();
        assert!(error.message.contains("unknown field `section`"), "{error}");
        assert_eq!(error.line, 2);
        let source = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.policy]\nrequired-keys = []\n[[tool.greenlight.policy.conditional-keys]]\nkey = 'MODE'\nvalue = 'X'\nrequires = ['WHO']\n",
            &["tool", "greenlight"],
        );
        let rules = PolicyOptions::load(&source).unwrap().rules();
        assert!(rules.required_keys.is_empty());
        assert_eq!(rules.conditional_keys[0].requires, ["WHO"]);
    }

    #[test]
    fn findings_say_how_to_fix() {
        let violations = evaluate(&Rules::default(), &PullRequest::default(), None);
        let finding = to_finding(violations[0].clone());
        assert_eq!(finding.kind, FindingKind::Policy);
        assert_eq!(finding.rule, "missing-section");
        assert!(finding.help.as_deref().unwrap().starts_with("add a line"));
        assert!(finding.location.is_none());
    }
}
