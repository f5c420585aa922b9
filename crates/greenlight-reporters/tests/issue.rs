//! The escalation issue (`greenlight report issue`) of the shared sample report, alone and with
//! a bisection and a hotfix branch, by snapshot; and what it must never show.

use greenlight_report::{NodeKind, Outcome};
use greenlight_reporters::issue::{BisectFacts, Culprit, IssueInput, render};
use greenlight_reporters::sample::sample_report;

fn bisect() -> BisectFacts {
    BisectFacts {
        good: "v1.4.0".to_string(),
        bad: "main".to_string(),
        commits: 64,
        runs: 8,
        culprits: vec![Culprit {
            check: "ruff-check".to_string(),
            short: "9f8e7d6c5b4a".to_string(),
            subject: "Merge pull request #212 from dev/payments-refunds".to_string(),
            author: "Dev <dev@example.com>".to_string(),
            date: "2026-11-25T17:02:11+01:00".to_string(),
            merge: true,
        }],
        ambiguous: vec![("pytest".to_string(), vec!["1111aaaa2222".to_string(), "3333bbbb4444".to_string()])],
    }
}

#[test]
fn the_issue_of_a_red_report() {
    let issue = render(&sample_report(), &IssueInput::default()).unwrap();
    insta::assert_snapshot!("issue_title", issue.title);
    insta::assert_snapshot!("issue", issue.body);
}

#[test]
fn the_issue_after_bisect_and_hotfix() {
    let mut hotfix = sample_report();
    hotfix.project.rev = Some("hotfix/restore-main-green".to_string());
    hotfix.project.commit = Some("fedcba9876543210fedcba9876543210fedcba98".to_string());
    for check in &mut hotfix.checks {
        if check.kind == NodeKind::Check && check.outcome != Outcome::Skipped {
            check.outcome = Outcome::Passed;
        }
    }
    let input = IssueInput {
        description: Some("payments refunds break lint".to_string()),
        labels: vec!["critical".to_string(), "payments".to_string()],
        bisect: Some(bisect()),
        hotfix: Some(&hotfix),
    };
    let issue = render(&sample_report(), &input).unwrap();
    assert_eq!(issue.title, "[CRITICAL] CI Failure - payments refunds break lint");
    assert_eq!(issue.labels, ["critical", "payments"]);
    insta::assert_snapshot!("issue_with_steps", issue.body);
}

#[test]
fn no_secret_reaches_the_issue() {
    const PLANTED: &str = "AKIAQYLPMN5HHHFPZAM2";
    let mut report = sample_report();
    let gitleaks = report.checks.iter_mut().find(|check| check.id == "gitleaks").expect("gitleaks in the sample");
    gitleaks.outcome = Outcome::Failed;
    gitleaks.findings[0].message = format!("AWS key {PLANTED} in config/settings.py");
    gitleaks.findings[0].detail = Some(format!("aws_access_key_id = \"{PLANTED}\""));
    gitleaks.log.as_mut().expect("a log").tail = format!("Finding: aws_access_key_id = {PLANTED}");
    let issue = render(&report, &IssueInput::default()).unwrap();
    assert!(issue.body.contains("aws-access-token"), "{}", issue.body);
    // The finding's message, detail and log tail are rebuilt or dropped by the redaction every
    // format reads the report through.
    assert!(!issue.body.contains(PLANTED), "{}", issue.body);
}
