//! The policy rules and their evaluation: pure functions from a pull request (body, author,
//! labels) and its changed files to violations.

use serde::Deserialize;

use crate::body::Body;

/// Sections every PR body must contain, by default.
pub const DEFAULT_SECTIONS: &[&str] = &["BA", "QA", "SRE", "DEV"];
/// Metadata keys every PR body must contain, by default.
pub const DEFAULT_KEYS: &[&str] = &["PR_TYPE", "AUTO_RUN_MODE", "MILESTONE_ID", "BLUEPRINT_REF"];
/// `PR_TYPE` values refused by default (`WIP` halts automation).
pub const DEFAULT_REFUSED_TYPES: &[&str] = &["WIP"];
/// Keys whose values must not be placeholders, by default.
pub const DEFAULT_NO_PLACEHOLDERS: &[&str] = &["MILESTONE_ID", "BLUEPRINT_REF"];
/// Placeholder words, by default (case-insensitive; `<...>` and `##` runs are always placeholders).
pub const DEFAULT_PLACEHOLDERS: &[&str] = &["PR-###", "TODO", "PLACEHOLDER"];
/// The key that holds the PR's type.
pub const TYPE_KEY: &str = "PR_TYPE";

/// A key required when another key has a given value (`AUTO_RUN_MODE: GUIDED` requires
/// `AUTHORIZATION_REASON:` and `AUTHORIZED_BY:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConditionalKeys {
    /// The key to look at (`AUTO_RUN_MODE`).
    pub key: String,
    /// Its value that triggers the rule (case-insensitive).
    pub value: String,
    /// The keys then required.
    pub requires: Vec<String>,
}

/// Exemptions for pull requests by given authors or with given labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct AllowRule {
    /// Authors (GitHub logins) the exemption applies to.
    pub authors: Vec<String>,
    /// Labels that grant it.
    pub labels: Vec<String>,
    /// Forbidden paths these PRs may change (globs; `["**"]` for all). Empty: none.
    pub paths: Vec<String>,
    /// These PRs need not touch the required paths.
    pub skip_required_paths: bool,
}

impl AllowRule {
    fn applies(&self, pr: &PullRequest) -> bool {
        pr.author.as_ref().is_some_and(|author| self.authors.iter().any(|a| a.eq_ignore_ascii_case(author)))
            || pr.labels.iter().any(|label| self.labels.iter().any(|l| l.eq_ignore_ascii_case(label)))
    }

    fn allows(&self, path: &str) -> bool {
        self.paths.iter().any(|pattern| glob_match(pattern, path))
    }
}

/// The rules, resolved from the configuration (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Required sections (`BA` for `[BA]`).
    pub sections: Vec<String>,
    /// Sections must have some text.
    pub non_empty_sections: bool,
    /// Required metadata keys.
    pub required_keys: Vec<String>,
    /// Refused `PR_TYPE` values.
    pub refused_types: Vec<String>,
    /// Conditional requirements.
    pub conditional_keys: Vec<ConditionalKeys>,
    /// Keys whose values must not be placeholders.
    pub no_placeholders: Vec<String>,
    /// Placeholder words.
    pub placeholders: Vec<String>,
    /// Paths no PR may change (globs).
    pub forbidden_paths: Vec<String>,
    /// Paths every PR must change (globs; each must match a changed file).
    pub required_paths: Vec<String>,
    /// Exemptions.
    pub allow: Vec<AllowRule>,
}

impl Default for Rules {
    fn default() -> Self {
        let strings = |items: &[&str]| items.iter().map(|item| (*item).to_string()).collect::<Vec<_>>();
        Self {
            sections: strings(DEFAULT_SECTIONS),
            non_empty_sections: false,
            required_keys: strings(DEFAULT_KEYS),
            refused_types: strings(DEFAULT_REFUSED_TYPES),
            conditional_keys: vec![ConditionalKeys {
                key: "AUTO_RUN_MODE".to_string(),
                value: "GUIDED".to_string(),
                requires: strings(&["AUTHORIZATION_REASON", "AUTHORIZED_BY"]),
            }],
            no_placeholders: strings(DEFAULT_NO_PLACEHOLDERS),
            placeholders: strings(DEFAULT_PLACEHOLDERS),
            forbidden_paths: Vec::new(),
            required_paths: Vec::new(),
            allow: Vec::new(),
        }
    }
}

impl Rules {
    /// True when some rule needs the changed files.
    pub fn has_path_rules(&self) -> bool {
        !self.forbidden_paths.is_empty() || !self.required_paths.is_empty()
    }
}

/// What the policy is checked against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// The body text.
    pub body: String,
    /// The title, when known.
    pub title: Option<String>,
    /// The author's login, when known.
    pub author: Option<String>,
    /// Its labels.
    pub labels: Vec<String>,
    /// The base revision, when known.
    pub base: Option<String>,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Rule id (`missing-section`, `forbidden-path`, ...).
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The changed file it concerns (path rules).
    pub path: Option<String>,
}

impl Violation {
    fn new(rule: &'static str, message: String, help: String) -> Self {
        Self { rule, message, help, path: None }
    }
}

/// Checks `pr` against `rules`. `changed` are the files the PR changes (repository-relative),
/// or `None` when they are not known; path rules are then not evaluated.
pub fn evaluate(rules: &Rules, pr: &PullRequest, changed: Option<&[String]>) -> Vec<Violation> {
    let body = Body::parse(&pr.body);
    let mut violations = Vec::new();
    let listed =
        |names: &[String], wrap: fn(&str) -> String| names.iter().map(|name| wrap(name)).collect::<Vec<_>>().join(", ");

    for section in &rules.sections {
        match body.section_text(section, &rules.sections) {
            None => violations.push(Violation::new(
                "missing-section",
                format!("the PR body has no `[{section}]` section"),
                format!(
                    "add a line `[{section}]` followed by its content (required sections: {})",
                    listed(&rules.sections, |name| format!("`[{name}]`"))
                ),
            )),
            Some(text) if rules.non_empty_sections && text.is_empty() => violations.push(Violation::new(
                "empty-section",
                format!("the `[{section}]` section of the PR body is empty"),
                format!("write what `[{section}]` asks for under its marker"),
            )),
            Some(_) => {}
        }
    }

    for key in &rules.required_keys {
        match body.value(key) {
            None => violations.push(Violation::new(
                "missing-key",
                format!("the PR body has no `{key}:` line"),
                format!(
                    "add a line `{key}: <value>` (required keys: {})",
                    listed(&rules.required_keys, |name| format!("`{name}:`"))
                ),
            )),
            Some("") if !rules.no_placeholders.contains(key) => violations.push(Violation::new(
                "empty-key",
                format!("`{key}:` in the PR body has no value"),
                format!("write the value after `{key}:` on the same line"),
            )),
            Some(_) => {}
        }
    }

    if let Some(kind) = body.value(TYPE_KEY)
        && let Some(refused) = rules.refused_types.iter().find(|refused| refused.eq_ignore_ascii_case(kind))
    {
        violations.push(Violation::new(
            "refused-pr-type",
            format!("`{TYPE_KEY}: {kind}` is refused: a `{refused}` pull request halts automation"),
            format!(
                "finish the work and set `{TYPE_KEY}:` to the change's type (for example FEATURE, FIX or HOTFIX); keep unfinished work in a draft"
            ),
        ));
    }

    for rule in &rules.conditional_keys {
        let triggered = body.value(&rule.key).is_some_and(|value| value.eq_ignore_ascii_case(&rule.value));
        if !triggered {
            continue;
        }
        for required in &rule.requires {
            if body.value(required).is_none_or(str::is_empty) {
                violations.push(Violation::new(
                    "conditional-key",
                    format!("`{}: {}` also requires `{required}:`, which the PR body lacks", rule.key, rule.value),
                    format!(
                        "add a line `{required}: <value>`, or change `{}:` if the mode is not {}",
                        rule.key, rule.value
                    ),
                ));
            }
        }
    }

    for key in &rules.no_placeholders {
        if let Some(value) = body.value(key)
            && let Some(what) = placeholder(value, &rules.placeholders)
        {
            violations.push(Violation::new(
                "placeholder-value",
                if value.is_empty() {
                    format!("`{key}:` in the PR body is empty")
                } else {
                    format!("`{key}: {value}` in the PR body is a placeholder ({what})")
                },
                format!("replace it with the real value of `{key}`"),
            ));
        }
    }

    if let Some(changed) = changed {
        let exemptions: Vec<&AllowRule> = rules.allow.iter().filter(|rule| rule.applies(pr)).collect();
        for path in changed {
            let Some(pattern) = rules.forbidden_paths.iter().find(|pattern| glob_match(pattern, path)) else {
                continue;
            };
            if exemptions.iter().any(|rule| rule.allows(path)) {
                continue;
            }
            let granted_by: Vec<String> = rules
                .allow
                .iter()
                .filter(|rule| rule.allows(path))
                .flat_map(|rule| rule.labels.iter().map(|label| format!("`{label}`")))
                .collect();
            let help = if granted_by.is_empty() {
                format!("leave `{path}` unchanged in this pull request (the policy forbids `{pattern}`)")
            } else {
                format!(
                    "leave `{path}` unchanged, or have the change approved with the label {}",
                    granted_by.join(" or ")
                )
            };
            violations.push(Violation {
                path: Some(path.clone()),
                ..Violation::new(
                    "forbidden-path",
                    format!("the PR changes `{path}`, which matches the forbidden path `{pattern}`"),
                    help,
                )
            });
        }
        let exempt_required = exemptions.iter().any(|rule| rule.skip_required_paths);
        if !exempt_required {
            for pattern in &rules.required_paths {
                if !changed.iter().any(|path| glob_match(pattern, path)) {
                    violations.push(Violation::new(
                        "missing-required-path",
                        format!("the PR changes no file matching `{pattern}`, which every pull request must update"),
                        format!("update `{pattern}` in this pull request (for example, add this change's evidence)"),
                    ));
                }
            }
        }
    }
    violations
}

/// Why `value` is a placeholder, or `None` when it is a real value.
pub fn placeholder(value: &str, words: &[String]) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return Some("empty".to_string());
    }
    if value.starts_with('<') && value.ends_with('>') {
        return Some(format!("`{value}` is a template slot"));
    }
    if value.contains("##") {
        return Some(format!("`{value}` has `#` where a number belongs"));
    }
    let lower = value.to_lowercase();
    for word in words {
        let word_lower = word.to_lowercase();
        if word_lower.is_empty() {
            continue;
        }
        let mut start = 0;
        while let Some(found) = lower[start..].find(&word_lower) {
            let at = start + found;
            let end = at + word_lower.len();
            let before = lower[..at].chars().next_back();
            let after = lower[end..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if boundary(before) && boundary(after) {
                return Some(format!("`{word}`"));
            }
            start = at + word_lower.len().max(1);
        }
    }
    None
}

/// Matches a repository-relative `path` against a glob: `*` and `?` within a path segment,
/// `**` across segments; a pattern without `/` matches a file or directory name at any depth
/// (as in `.gitignore`); a pattern that matches a directory matches everything under it.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim();
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    let anchored = pattern.starts_with('/') || pattern.trim_end_matches('/').contains('/');
    let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
    if pattern.is_empty() {
        return false;
    }
    let mut segments: Vec<&str> = Vec::new();
    if !anchored {
        segments.push("**");
    }
    segments.extend(pattern.split('/'));
    segments.push("**"); // a directory matches everything under it
    let path: Vec<&str> = path.trim_start_matches("./").split('/').filter(|part| !part.is_empty()).collect();
    match_segments(&segments, &path)
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((segment, rest)) => {
            !path.is_empty()
                && match_segment(segment.as_bytes(), path[0].as_bytes())
                && match_segments(rest, &path[1..])
        }
    }
}

fn match_segment(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| match_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && match_segment(rest, &name[1..]),
        Some((byte, rest)) => name.first() == Some(byte) && match_segment(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "HOTFIX: restore main\n\nPR_TYPE: FIX\nAUTO_RUN_MODE: MANUAL\nMILESTONE_ID: M-42\nBLUEPRINT_REF: docs/blueprints/api.md\n\n[BA]\nWhy.\n[QA]\nTested.\n[SRE]\nNo risk.\n[DEV]\nSmall.\n";

    fn pr(body: &str) -> PullRequest {
        PullRequest { body: body.to_string(), ..PullRequest::default() }
    }

    fn rules_of(violations: &[Violation]) -> Vec<&'static str> {
        violations.iter().map(|violation| violation.rule).collect()
    }

    #[test]
    fn a_complete_body_passes() {
        assert_eq!(evaluate(&Rules::default(), &pr(GOOD), None), vec![]);
        assert_eq!(evaluate(&Rules::default(), &pr(&GOOD.replace('\n', "\r\n")), None), vec![]);
        let indented: String = GOOD.lines().map(|line| format!("   {line}  \t\r\n")).collect();
        assert_eq!(evaluate(&Rules::default(), &pr(&indented), None), vec![]);
    }

    #[test]
    fn each_missing_section_and_key_is_one_violation() {
        let body = GOOD.replace("[QA]\n", "").replace("MILESTONE_ID: M-42\n", "");
        let violations = evaluate(&Rules::default(), &pr(&body), None);
        assert_eq!(rules_of(&violations), ["missing-section", "missing-key"]);
        assert!(violations[0].message.contains("`[QA]`"), "{violations:?}");
        assert!(violations[0].help.contains("add a line `[QA]`"), "{violations:?}");
        assert!(violations[1].message.contains("`MILESTONE_ID:`"), "{violations:?}");
        let empty = evaluate(&Rules::default(), &pr(""), None);
        assert_eq!(empty.len(), 8, "{empty:?}");
    }

    #[test]
    fn wip_is_refused_in_any_case() {
        let violations = evaluate(&Rules::default(), &pr(&GOOD.replace("PR_TYPE: FIX", "PR_TYPE: wip")), None);
        assert_eq!(rules_of(&violations), ["refused-pr-type"]);
        assert!(violations[0].message.contains("halts automation"));
    }

    #[test]
    fn guided_mode_needs_authorization() {
        let guided = GOOD.replace("AUTO_RUN_MODE: MANUAL", "AUTO_RUN_MODE: GUIDED");
        let violations = evaluate(&Rules::default(), &pr(&guided), None);
        assert_eq!(rules_of(&violations), ["conditional-key", "conditional-key"]);
        assert!(violations[0].message.contains("`AUTHORIZATION_REASON:`"));
        assert!(violations[1].message.contains("`AUTHORIZED_BY:`"));
        let authorized = guided.replace("[BA]", "AUTHORIZATION_REASON: incident 12\nAUTHORIZED_BY: @lead\n[BA]");
        assert_eq!(evaluate(&Rules::default(), &pr(&authorized), None), vec![]);
        let empty_reason = guided.replace("[BA]", "AUTHORIZATION_REASON:\nAUTHORIZED_BY: @lead\n[BA]");
        assert_eq!(rules_of(&evaluate(&Rules::default(), &pr(&empty_reason), None)), ["conditional-key"]);
    }

    #[test]
    fn placeholders_are_refused() {
        for value in ["PR-###", "pr-###", "<milestone>", "TODO", "todo: later", "Placeholder", "M-##", ""] {
            let body = GOOD.replace("MILESTONE_ID: M-42", &format!("MILESTONE_ID: {value}"));
            let violations = evaluate(&Rules::default(), &pr(&body), None);
            assert_eq!(rules_of(&violations), ["placeholder-value"], "{value:?}: {violations:?}");
        }
        for value in ["M-42", "PR-123", "#12", "TODOIST-1", "mastodon"] {
            assert_eq!(placeholder(value, &Rules::default().placeholders), None, "{value}");
        }
    }

    #[test]
    fn path_rules() {
        let rules = Rules {
            forbidden_paths: vec![".github/workflows/".to_string(), "*.pem".to_string()],
            required_paths: vec!["docs/evidence/INDEX.md".to_string()],
            allow: vec![AllowRule {
                labels: vec!["ci-change".to_string()],
                paths: vec![".github/**".to_string()],
                ..AllowRule::default()
            }],
            ..Rules::default()
        };
        let changed: Vec<String> =
            [".github/workflows/ci.yml", "certs/dev.pem", "src/app.py"].iter().map(|s| s.to_string()).collect();
        let violations = evaluate(&rules, &pr(GOOD), Some(&changed));
        assert_eq!(rules_of(&violations), ["forbidden-path", "forbidden-path", "missing-required-path"]);
        assert_eq!(violations[0].path.as_deref(), Some(".github/workflows/ci.yml"));
        assert!(violations[0].help.contains("`ci-change`"), "{violations:?}");

        // The label allows the workflow change, not the certificate.
        let labelled = PullRequest { labels: vec!["CI-Change".to_string()], ..pr(GOOD) };
        let violations = evaluate(&rules, &labelled, Some(&changed));
        assert_eq!(rules_of(&violations), ["forbidden-path", "missing-required-path"]);
        assert_eq!(violations[0].path.as_deref(), Some("certs/dev.pem"));

        // Touching the evidence index satisfies the required path; unknown changes skip path rules.
        let changed = vec!["docs/evidence/INDEX.md".to_string(), "src/app.py".to_string()];
        assert_eq!(evaluate(&rules, &pr(GOOD), Some(&changed)), vec![]);
        assert_eq!(evaluate(&rules, &pr(GOOD), None), vec![]);
    }

    #[test]
    fn an_allowlisted_author_may_skip_required_paths() {
        let rules = Rules {
            required_paths: vec!["docs/evidence/INDEX.md".to_string()],
            allow: vec![AllowRule {
                authors: vec!["renovate[bot]".to_string()],
                skip_required_paths: true,
                ..AllowRule::default()
            }],
            ..Rules::default()
        };
        let changed = vec!["requirements.txt".to_string()];
        let bot = PullRequest { author: Some("renovate[bot]".to_string()), ..pr(GOOD) };
        assert_eq!(evaluate(&rules, &bot, Some(&changed)), vec![]);
        let human = PullRequest { author: Some("alice".to_string()), ..pr(GOOD) };
        assert_eq!(rules_of(&evaluate(&rules, &human, Some(&changed))), ["missing-required-path"]);
    }

    #[test]
    fn globs() {
        assert!(glob_match("docs/evidence/INDEX.md", "docs/evidence/INDEX.md"));
        assert!(!glob_match("docs/evidence/INDEX.md", "docs/evidence/INDEX.md.bak"));
        assert!(glob_match("/infra/prod", "infra/prod/main.tf"));
        assert!(glob_match("infra/prod/", "infra/prod/a/b.tf"));
        assert!(!glob_match("infra/prod/", "infra/production/a.tf"));
        assert!(glob_match("*.pem", "a/b/c.pem"));
        assert!(glob_match("secrets", "config/secrets/x.yml"));
        assert!(glob_match("migrations/**/*.sql", "migrations/2024/01/init.sql"));
        assert!(glob_match("migrations/**/*.sql", "migrations/init.sql"));
        assert!(!glob_match("migrations/*.sql", "migrations/2024/init.sql"));
        assert!(glob_match("src/?.py", "src/a.py"));
        assert!(!glob_match("", "a"));
    }
}
