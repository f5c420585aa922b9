//! Test results in the report model: a test runner's counts and cases (pytest), with the
//! flaky cases of `retries`.

use serde::{Deserialize, Serialize};

/// Test results of a test runner (pytest).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TestSummary {
    /// Number of test cases, including collection errors.
    pub total: u32,
    /// Passed cases (including non-strict xpass).
    pub passed: u32,
    /// Failed cases.
    pub failed: u32,
    /// Cases that errored (setup or teardown errors, collection errors).
    pub errors: u32,
    /// Skipped cases (including xfail).
    pub skipped: u32,
    /// Cases that failed, then passed when run again (`retries`): counted in `passed` too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flaky: u32,
    /// Every case, in the runner's order.
    #[serde(default)]
    pub cases: Vec<TestCase>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TestCase {
    /// pytest node id (`tests/test_api.py::TestX::test_y[1]`).
    pub node_id: String,
    /// Dotted class name as JUnit reports it (`tests.test_api.TestX`).
    pub classname: String,
    /// Test name (`test_y[1]`).
    pub name: String,
    /// File relative to the project root.
    #[serde(default)]
    pub file: Option<String>,
    /// 1-based line of the test function.
    #[serde(default)]
    pub line: Option<u32>,
    /// Result of the case.
    pub outcome: TestOutcome,
    /// Duration in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Short failure message (`AssertionError: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A bounded excerpt of the traceback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// True when the case failed and then passed when run again (`retries`): its `outcome` is
    /// `passed`, `message` and `traceback` are the first failure's.
    #[serde(default, skip_serializing_if = "is_false")]
    pub flaky: bool,
    /// How many times it ran, when more than once (`retries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// The outcome of one test case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Passed.
    Passed,
    /// Failed an assertion.
    Failed,
    /// Errored (setup, teardown, collection).
    Error,
    /// Skipped or xfailed.
    Skipped,
}
