//! `--partition K/N`: pytest's test files spread over the shards, every other check whole in
//! one shard, and `report merge` adding the shards up into the counts of a single run.

use greenlight_e2e::{TempProject, require_tool, run_greenlight};
use greenlight_report::{Outcome, RunReport, SkipCause};

fn read(project: &TempProject, name: &str) -> RunReport {
    serde_json::from_str(&std::fs::read_to_string(project.path().join(name)).unwrap()).unwrap()
}

#[test]
fn shards_run_everything_once_and_merge_into_a_single_runs_counts() {
    if !(require_tool("uv") && require_tool("ruff")) {
        return;
    }
    let project = TempProject::fixture("clean-service");
    for (file, count) in [("test_orders", 5), ("test_users", 3), ("test_search", 4)] {
        let tests: String =
            (0..count).map(|n| format!("\n\ndef test_{file}_{n}():\n    assert {n} + 1 == {}\n", n + 1)).collect();
        project.write(&format!("tests/{file}.py"), &format!("\"\"\"Tests of {file}.\"\"\"\n{tests}"));
    }
    // pytest-split's durations: test_orders is the slow file.
    project.write(
        ".test_durations",
        r#"{"tests/test_orders.py::test_test_orders_0": 30.0, "tests/test_users.py::test_test_users_0": 1.0,
            "tests/test_search.py::test_test_search_0": 1.0, "tests/test_api.py::test_health": 1.0}"#,
    );
    project.git_init();
    let checks = ["ruff-check", "ruff-format", "pytest", "--no-cache"];
    let single = project.run_checks(&checks);
    assert_eq!(single.code, Some(0), "{}", single.output());
    let single_tests = single.report().check("pytest").unwrap().tests.clone().unwrap();
    assert_eq!(single_tests.total, 18);

    let mut shards = Vec::new();
    for index in 1..=2 {
        let json = format!("shard-{index}.json");
        let partition = format!("{index}/2");
        let mut args = vec!["run", "--no-progress", "--partition", partition.as_str(), "--json", json.as_str()];
        args.extend(checks);
        let result = run_greenlight(project.path(), &args, &[]);
        assert_eq!(result.code, Some(0), "{}", result.output());
        shards.push(read(&project, &json));
    }
    for id in ["ruff-check", "ruff-format"] {
        let ran: Vec<usize> = (0..2).filter(|&i| shards[i].check(id).unwrap().outcome == Outcome::Passed).collect();
        assert_eq!(ran.len(), 1, "{id} ran in shards {ran:?}");
        let other = shards[1 - ran[0]].check(id).unwrap();
        assert_eq!(other.skip_cause, Some(SkipCause::NotSelected), "{other:?}");
        assert!(other.summary.contains("(--partition)"), "{}", other.summary);
    }
    let mut nodes: Vec<String> = Vec::new();
    for shard in &shards {
        let pytest = shard.check("pytest").unwrap();
        assert_eq!(pytest.outcome, Outcome::Passed, "{pytest:?}");
        let tests = pytest.tests.as_ref().unwrap();
        assert!(tests.total > 0 && tests.total < 18, "each shard runs a share: {tests:?}");
        nodes.extend(tests.cases.iter().map(|case| case.node_id.clone()));
    }
    // The slow file alone in one shard; the other three files in the other.
    let alone = shards.iter().find(|s| s.check("pytest").unwrap().tests.as_ref().unwrap().total == 5);
    assert!(alone.is_some(), "test_orders.py (30 s recorded) is not alone in a shard");
    nodes.sort();
    let mut expected: Vec<String> = single_tests.cases.iter().map(|case| case.node_id.clone()).collect();
    expected.sort();
    assert_eq!(nodes, expected, "every test ran exactly once");

    let merged = run_greenlight(
        project.path(),
        &["report", "merge", "shard-1.json", "shard-2.json", "--json", "merged.json"],
        &[],
    );
    assert_eq!(merged.code, Some(0), "{}", merged.output());
    let merged = read(&project, "merged.json");
    let pytest = merged.check("pytest").unwrap();
    let tests = pytest.tests.as_ref().unwrap();
    assert_eq!(
        (tests.total, tests.passed, tests.failed, tests.errors, tests.skipped),
        (single_tests.total, single_tests.passed, single_tests.failed, single_tests.errors, single_tests.skipped)
    );
    assert_eq!(tests.cases.len(), single_tests.cases.len());
    for id in ["ruff-check", "ruff-format"] {
        assert_eq!(merged.check(id).unwrap().outcome, Outcome::Passed);
    }
}
