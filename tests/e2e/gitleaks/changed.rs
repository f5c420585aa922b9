//! `--changed REF`: gitleaks scans the commits since the merge base of REF and HEAD only, so a
//! secret committed (and removed) on `main` before the branch does not fail the branch's run.

use greenlight_report::Outcome;

use super::{gitleaks_check, key_committed_then_removed, require_tool, run_gitleaks};

#[test]
fn changed_scans_only_the_new_commits() {
    if !require_tool("gitleaks") {
        return;
    }
    let (project, _) = key_committed_then_removed();
    project.git(&["checkout", "-q", "-b", "feature"]);
    project.write("app/main.py", "print('hello, world')\n");
    project.git(&["commit", "-q", "-am", "greet the world"]);

    let whole = run_gitleaks(project.path(), &[]);
    assert_eq!(gitleaks_check(&whole).outcome, Outcome::Failed, "{}", whole.output());

    let changed = run_gitleaks(project.path(), &["--changed", "main"]);
    assert_eq!(changed.code, Some(0), "{}", changed.output());
    let check = gitleaks_check(&changed);
    assert_eq!(check.outcome, Outcome::Passed);
    assert!(check.summary.contains("the commits since main (merge base"), "{}", check.summary);
    let command = check.command.clone().unwrap_or_default().join(" ");
    assert!(command.contains("..HEAD"), "{command}");
}
