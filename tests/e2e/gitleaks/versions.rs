//! Which gitleaks a test runs: Debian's 8.16 on `PATH` (`detect`), or 8.30 (the `git`/`dir`
//! command line) from the PyPI wheel `cargo xtask setup` installs in `target/tools/`, put
//! first on `PATH` by [`with_gitleaks_8_30`] for the `v8_30` tests of each module.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use greenlight_e2e::{RunResult, run_greenlight};

thread_local! {
    /// The directory of the gitleaks the current test runs (prepended to `PATH`), or `None`
    /// for the one on `PATH` (Debian's 8.16).
    static GITLEAKS_DIR: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Where `cargo xtask setup` installs gitleaks 8.30.
fn gitleaks_8_30_dir() -> PathBuf {
    greenlight_e2e::workspace().join("target/tools/gitleaks-8.30.1/bin")
}

/// Runs `test` with gitleaks 8.30 first on `PATH`.
pub(super) fn with_gitleaks_8_30(test: fn()) {
    let dir = gitleaks_8_30_dir();
    if !dir.join("gitleaks").is_file() {
        if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
            panic!("gitleaks 8.30 is required (GREENLIGHT_REQUIRE_TOOLS=1) but not installed; run `cargo xtask setup`");
        }
        #[expect(clippy::print_stderr, reason = "the test says why it skips")]
        {
            eprintln!("skipped: gitleaks 8.30 is not installed (run `cargo xtask setup`)");
        }
        return;
    }
    GITLEAKS_DIR.with(|current| *current.borrow_mut() = Some(dir));
    test();
}

/// The gitleaks this test runs, and whether it has the 8.19+ `git`/`dir` commands.
pub(super) fn gitleaks_program() -> (PathBuf, bool) {
    GITLEAKS_DIR.with(|current| match &*current.borrow() {
        Some(dir) => (dir.join("gitleaks"), true),
        None => (PathBuf::from("gitleaks"), false),
    })
}

/// `PATH` for greenlight with this test's gitleaks first.
pub(super) fn gitleaks_path() -> String {
    match GITLEAKS_DIR.with(|current| current.borrow().clone()) {
        Some(dir) => format!("{}:{}", dir.display(), greenlight_e2e::tools_path()),
        None => greenlight_e2e::tools_path(),
    }
}

/// Runs greenlight in `dir` with this test's gitleaks.
pub(super) fn run_with_gitleaks(dir: &Path, args: &[&str]) -> RunResult {
    let path = gitleaks_path();
    run_greenlight(dir, args, &[("PATH", path.as_str())])
}
