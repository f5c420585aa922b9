//! The runbook end to end on a history dated in the past, with the tools of each commit's day
//! (`--as-of commit`): reproduce the red main, bisect it, make the hotfix, and write the
//! escalation issue from the real reports (`greenlight report issue`), whose body is kept as a
//! snapshot with the run's own values (shas, run ids, times, paths) replaced by names.

use std::path::Path;

use greenlight_e2e::{require_tool, run_greenlight};
use greenlight_report::RunReport;

use crate::old_ci::{DATES, DatedHistory, FIRST_BAD};

fn read_report(path: &Path) -> RunReport {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_escalation_issue_of_a_red_main_after_bisect_and_hotfix() {
    if !(require_tool("uv") && require_tool("ruff") && require_tool("git")) {
        return;
    }
    let history = DatedHistory::new();
    let dir = history.path();
    let out = |name: &str| dir.join(".greenlight").join(name).display().to_string();
    let (main_json, bisect_json, hotfix_json, issue_md) =
        (out("main.json"), out("bisect.json"), out("hotfix.json"), out("issue/issue.md"));
    let good = history.commits[0].0.clone();
    let main = history.commits[DATES.len() - 1].0.clone();
    let culprit = history.commits[FIRST_BAD].0.clone();

    // 1. Reproduce main with the tools of its day.
    let args = ["run", "--rev", "main", "ruff-check", "--as-of", "commit", "--no-progress", "--json", &main_json];
    let result = run_greenlight(dir, &args, &[]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    // 2. Bisect.
    let args = [
        "bisect",
        "--good",
        &good,
        "--bad",
        "main",
        "--check",
        "ruff-check",
        "--as-of",
        "commit",
        "--json",
        &bisect_json,
    ];
    let result = run_greenlight(dir, &args, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    // 3. The hotfix, judged by the tools of the base it restores.
    let args = [
        "hotfix",
        "--from-bisect",
        &bisect_json,
        "--check",
        "ruff-check",
        "--as-of",
        "commit",
        "--no-progress",
        "--json",
        &hotfix_json,
    ];
    let result = run_greenlight(dir, &args, &[]);
    assert!(result.stdout.contains("main would be green again"), "{}", result.output());
    let hotfix = read_report(Path::new(&hotfix_json));
    let as_of = hotfix.as_of.as_ref().expect("the hotfix run records its moment");
    assert_eq!((as_of.source.as_str(), as_of.commit.as_deref()), ("commit", Some(main.as_str())), "the base's date");
    assert_eq!(as_of.date, DATES[DATES.len() - 1].1);

    // 4. The issue.
    let args = ["report", "issue", &main_json, "--bisect", &bisect_json, "--hotfix", &hotfix_json, "--out", &issue_md];
    let result = run_greenlight(dir, &args, &[]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let short = |sha: &str| sha[..12].to_string();
    let title = format!("[CRITICAL] CI Failure - ruff-check failing on main ({})", short(&main));
    let command =
        format!("gh issue create --title '{title}' --label critical --label ci-failure --body-file {issue_md}\n");
    assert_eq!(result.stdout, command, "{}", result.output());
    let saved_title = std::fs::read_to_string(dir.join(".greenlight/issue/ISSUE_TITLE.txt")).unwrap();
    assert_eq!(saved_title, format!("{title}\n"));

    let body = std::fs::read_to_string(&issue_md).unwrap();
    let main_report = read_report(Path::new(&main_json));
    let mut normalized = body.replace(&main, "<main>").replace(&short(&main), "<main>");
    normalized = normalized.replace(&culprit, "<first bad>").replace(&short(&culprit), "<first bad>");
    normalized = normalized.replace(&short(&good), "<good>");
    let head = hotfix.project.commit.clone().unwrap();
    normalized = normalized.replace(&head, "<hotfix head>").replace(&short(&head), "<hotfix head>");
    normalized = normalized.replace(&main_report.run_id, "<run id>").replace(&main_report.started_at, "<started>");
    for (name, tool) in &main_report.tools {
        normalized = normalized.replace(&tool.path, &format!("<{name}>"));
    }
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/tmp/greenlight-[A-Za-z0-9]+/", "<scratch>/");
    settings.add_filter(r"\d{8}-\d{6}-[0-9a-f]+", "<run id>");
    settings.bind(|| insta::assert_snapshot!("escalation_issue", normalized));

    // Each input is what the body says it is.
    assert!(body.contains(&format!("first bad commit `{}` \"util: parse payloads\"", short(&culprit))), "{body}");
    assert!(body.contains("`hotfix/restore-main-green`"), "{body}");
    assert!(body.contains("every check passes there"), "{body}");
    assert!(body.contains("app/util.py:3:8  F401"), "{body}");

    // A green report has nothing to escalate.
    let args = ["report", "issue", &hotfix_json];
    let result = run_greenlight(dir, &args, &[]);
    assert_eq!(result.code, Some(3), "{}", result.output());
    assert!(result.stderr.contains("nothing to escalate"), "{}", result.output());
}
