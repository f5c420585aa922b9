//! The hotfix pull request's title and body: metadata lines, then the policy's sections filled
//! with the evidence (main's failing checks, the reverted commits, the branch's green run).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use greenlight_report::{Finding, NodeKind, Outcome, RunReport, text};

use crate::bisect::finding_line;
use crate::hotfix::Revert;

/// The PR title's description when none is given.
pub(crate) fn default_description(reverts: &[Revert], base_rev: &str) -> String {
    match reverts {
        [one] => {
            format!("revert {} \"{}\" to restore a green {base_rev}", one.info.short, text::clip(&one.info.subject, 60))
        }
        many => format!(
            "revert {} to restore a green {base_rev}",
            many.iter().map(|revert| revert.info.short.clone()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Everything the hotfix PR body says.
pub(crate) struct BodyInput<'a> {
    pub(crate) base_rev: &'a str,
    pub(crate) base: &'a str,
    pub(crate) branch: &'a str,
    pub(crate) head: &'a str,
    pub(crate) reverts: &'a [Revert],
    pub(crate) revert_commands: &'a [String],
    pub(crate) main: &'a RunReport,
    pub(crate) hotfix: &'a RunReport,
    pub(crate) changed: &'a str,
    pub(crate) auto_run_mode: &'a str,
    pub(crate) milestone: &'a str,
    pub(crate) blueprint: String,
    pub(crate) sections: &'a [String],
}

/// The hotfix PR body: metadata, then the sections filled with the evidence.
pub(crate) fn hotfix_body(input: &BodyInput<'_>) -> String {
    let short = |sha: &str| sha[..12.min(sha.len())].to_string();
    let checks = |report: &RunReport| -> String {
        let mut out = String::new();
        for check in report.checks.iter().filter(|check| check.kind == NodeKind::Check) {
            if check.outcome == Outcome::Skipped {
                continue;
            }
            let _ = writeln!(out, "  - `{}`: {} — {}", check.id, check.outcome, check.summary);
        }
        out
    };
    let failing: Vec<String> = input
        .main
        .checks
        .iter()
        .filter(|check| check.outcome == Outcome::Failed)
        .map(|check| format!("`{}`", check.id))
        .collect();
    let hotfix_green = crate::hotfix::is_green(input.hotfix);

    let mut out = String::new();
    let _ = writeln!(out, "PR_TYPE: HOTFIX");
    let _ = writeln!(out, "AUTO_RUN_MODE: {}", input.auto_run_mode);
    let _ = writeln!(out, "MILESTONE_ID: {}", input.milestone);
    let _ = writeln!(out, "BLUEPRINT_REF: {}", input.blueprint);

    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut ba = String::new();
    let _ = writeln!(
        ba,
        "`{}` is red at {}: {} failing. This hotfix reverts the commit{} that broke it, so `{}` is green again and work can continue:",
        input.base_rev,
        short(input.base),
        failing.join(", "),
        if input.reverts.len() == 1 { "" } else { "s" },
        input.base_rev
    );
    for revert in input.reverts {
        let broke = if revert.broke.is_empty() {
            String::new()
        } else {
            format!(
                " — first bad commit of {}",
                revert.broke.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
            )
        };
        let _ = writeln!(
            ba,
            "- {} \"{}\" by {} ({}){broke}",
            revert.info.short, revert.info.subject, revert.info.author, revert.info.date
        );
    }
    let _ = writeln!(ba, "The reverted change is to be re-landed with a fix in a follow-up pull request.");
    sections.insert("BA", ba);

    let mut qa = String::new();
    let _ = writeln!(qa, "Checked with `greenlight` on clean checkouts before pushing:");
    let _ = writeln!(qa, "- `{}` at {}: {}", input.base_rev, short(input.base), input.main.outcome);
    qa.push_str(&checks(input.main));
    let _ = writeln!(
        qa,
        "- `{}` at {} ({} + revert): {}{}",
        input.branch,
        short(input.head),
        input.base_rev,
        input.hotfix.outcome,
        if hotfix_green { " — every check that applies passes" } else { " — not green yet" }
    );
    qa.push_str(&checks(input.hotfix));
    let _ = writeln!(qa, "Reproduce: `greenlight run --rev {}`", input.branch);
    sections.insert("QA", qa);

    let mut sre = String::new();
    let _ = writeln!(sre, "Scope: only the reverted change leaves `{}`. Files changed by this hotfix:", input.base_rev);
    let _ = writeln!(sre, "```");
    sre.push_str(input.changed.trim_end());
    let _ = writeln!(sre, "\n```");
    let _ = writeln!(sre, "Rollback: revert this pull request; that restores the reverted change exactly as it was.");
    sections.insert("SRE", sre);

    let mut dev = String::new();
    let _ = writeln!(
        dev,
        "Made by `greenlight hotfix` on `{}` from `{}` ({}):",
        input.branch,
        input.base_rev,
        short(input.base)
    );
    for command in input.revert_commands {
        let _ = writeln!(dev, "- `{command}`");
    }
    let findings: Vec<&(String, Finding)> = input.reverts.iter().flat_map(|revert| &revert.findings).collect();
    if !findings.is_empty() {
        let _ = writeln!(
            dev,
            "Findings that appeared at the reverted commit{} (`greenlight bisect`):",
            if input.reverts.len() == 1 { "" } else { "s" }
        );
        for (check, finding) in findings.iter().take(20) {
            let _ = writeln!(dev, "- `{check}` {}", finding_line(finding));
        }
    }
    sections.insert("DEV", dev);

    for name in input.sections {
        let _ = writeln!(out, "\n[{name}]");
        match sections.get(name.as_str()) {
            Some(text) => out.push_str(text),
            None => {
                let _ = writeln!(out, "Hotfix: see [BA] and [QA]; the revert changes nothing else.");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotfix::DEFAULT_BRANCH;
    use greenlight_orchestrator::revision::CommitInfo;
    use greenlight_report::{CheckReport, Location};

    fn finding(rule: &str, path: &str, line: u32, message: &str) -> Finding {
        Finding::new(rule, message, Some(Location::at(path, Some(line), None)))
    }

    fn report(outcomes: &[(&str, Outcome, &str)]) -> RunReport {
        RunReport {
            schema_version: 1,
            greenlight_version: "0".into(),
            run_id: String::new(),
            outcome: Outcome::worst(outcomes.iter().map(|(_, outcome, _)| *outcome)),
            interrupted: false,
            project: Default::default(),
            started_at: String::new(),
            duration_ms: 0,
            tools: Default::default(),
            checks: outcomes
                .iter()
                .map(|(id, outcome, summary)| {
                    let mut check = CheckReport::new(*id, *id, *outcome);
                    check.summary = summary.to_string();
                    check
                })
                .collect(),
            as_of: None,
            baseline: None,
        }
    }

    #[test]
    fn hotfix_body_passes_the_default_policy() {
        let commit = CommitInfo {
            sha: "a".repeat(40),
            short: "a".repeat(12),
            subject: "Merge branch 'feature'".into(),
            author: "Test Author <author@example.com>".into(),
            date: "2026-01-01T00:00:00+00:00".into(),
            parents: vec!["b".repeat(40), "c".repeat(40)],
        };
        let reverts = vec![Revert {
            info: commit,
            broke: vec!["pytest".into()],
            findings: vec![("pytest".into(), finding("test-failed", "tests/test_api.py", 4, "assert 1 == 2"))],
        }];
        let main = report(&[("ruff-check", Outcome::Passed, "no findings"), ("pytest", Outcome::Failed, "1 failed")]);
        let hotfix = report(&[("ruff-check", Outcome::Passed, "no findings"), ("pytest", Outcome::Passed, "6 passed")]);
        let sections: Vec<String> = ["BA", "QA", "SRE", "DEV"].iter().map(|s| s.to_string()).collect();
        let body = hotfix_body(&BodyInput {
            base_rev: "main",
            base: &"d".repeat(40),
            branch: DEFAULT_BRANCH,
            head: &"e".repeat(40),
            reverts: &reverts,
            revert_commands: &["git revert --no-edit -m 1 aaaaaaaaaaaa".to_string()],
            main: &main,
            hotfix: &hotfix,
            changed: " tests/test_api.py | 2 +-\n 1 file changed",
            auto_run_mode: "MANUAL",
            milestone: "HOTFIX",
            blueprint: "revert-aaaaaaaaaaaa".into(),
            sections: &sections,
        });
        let violations = greenlight_plugin_policy::evaluate(
            &greenlight_plugin_policy::Rules { non_empty_sections: true, ..Default::default() },
            &greenlight_plugin_policy::PullRequest { body: body.clone(), ..Default::default() },
            None,
        );
        assert_eq!(violations, vec![], "{body}");
        assert!(body.contains("PR_TYPE: HOTFIX"), "{body}");
        assert!(body.contains("`pytest`: failed — 1 failed"), "{body}");
        assert!(body.contains("git revert --no-edit -m 1"), "{body}");
        assert!(body.contains("first bad commit of `pytest`"), "{body}");
    }
}
