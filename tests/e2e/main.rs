//! End-to-end tests: the real `greenlight` binary on temporary copies of the fixtures, with the
//! real tools. Tools missing from the machine skip a test with a printed reason, unless
//! `GREENLIGHT_REQUIRE_TOOLS=1` (CI), where they fail it.
#![expect(
    clippy::disallowed_methods,
    reason = "the tests start the binary under test and helpers, and read their own switches from the environment"
)]

mod baseline;
mod build;
mod cache;
mod cache_reads;
mod changed;
mod consumers;
mod defined;
mod docker;
mod environment;
mod escalate;
mod faults;
mod flaky;
mod foundation;
mod gitleaks;
mod old_ci;
mod partition;
mod pip_audit;
mod provision;
mod reporters;
mod reproduce;
mod secrets;
mod state_dir;
mod terminal;
