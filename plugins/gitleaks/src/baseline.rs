//! The files that steer a scan: the gitleaks configuration, the baseline, and
//! `.gitleaksignore`. gitleaks only logs a baseline it cannot read (and then reports everything)
//! and applies fingerprints differently by version, so the baseline and the ignore files are
//! read and applied here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use greenlight_checker::{CheckError, Project};

use crate::GitleaksOptions;
use crate::cli::Cli;
use crate::git::Layout;
use crate::parse::{Leak, parse_report};

/// What identifies a baseline entry: gitleaks' own comparison minus the secret, the match and
/// the author (which `--redact` and versions change).
type BaselineKey = (String, String, String, u32, u32, u32, u32);

fn baseline_key(leak: &Leak) -> BaselineKey {
    (
        leak.rule_id.clone(),
        leak.file.trim_start_matches("./").to_string(),
        leak.commit.clone(),
        leak.start_line,
        leak.end_line,
        leak.start_column,
        leak.end_column,
    )
}

/// A baseline: the report whose leaks are not reported again.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// The file (passed to gitleaks too).
    pub(crate) path: PathBuf,
    keys: BTreeSet<BaselineKey>,
}

/// A configuration or baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SteeringError {
    /// `config` names a file that does not exist.
    #[error(
        "the gitleaks configuration `{config}` (`config` in [tool.greenlight.gitleaks]) does not exist at `{}`; fix the path, or remove `config` to use `.gitleaks.toml`",
        path.display()
    )]
    MissingConfig { config: String, path: PathBuf },
    /// The baseline cannot be read.
    #[error("cannot read the baseline `{name}` ({}: {error}); {CREATE_BASELINE}", path.display())]
    UnreadableBaseline { name: String, path: PathBuf, error: std::io::Error },
    /// The baseline is not a gitleaks JSON report.
    #[error("the baseline `{name}` is not a gitleaks JSON report ({error}); {CREATE_BASELINE}")]
    NotAReport { name: String, error: serde_json::Error },
}

const CREATE_BASELINE: &str = "create it with `gitleaks git --redact --report-format json --report-path <file>` (gitleaks before 8.19: `gitleaks detect ...`), or fix `baseline` in [tool.greenlight.gitleaks]";

impl From<SteeringError> for CheckError {
    fn from(error: SteeringError) -> Self {
        CheckError::errored(error.to_string())
    }
}

/// The gitleaks configuration: `config`, else the project's `.gitleaks.toml`, else the
/// repository root's, else none (gitleaks' built-in rules).
pub(crate) fn choose_config(
    options: &GitleaksOptions,
    project: &Project,
    layout: &Layout,
) -> Result<Option<PathBuf>, SteeringError> {
    if let Some(config) = &options.config {
        let path = project.root.join(config);
        if !path.is_file() {
            return Err(SteeringError::MissingConfig { config: config.clone(), path });
        }
        return Ok(Some(path));
    }
    Ok([project.root.join(".gitleaks.toml"), layout.scan_root.join(".gitleaks.toml")]
        .into_iter()
        .find(|path| path.is_file()))
}

/// Reads and checks the baseline.
pub(crate) fn load_baseline(options: &GitleaksOptions, project: &Project) -> Result<Option<Baseline>, SteeringError> {
    let Some(name) = &options.baseline else {
        return Ok(None);
    };
    let path = project.root.join(name);
    let bytes = std::fs::read(&path).map_err(|error| SteeringError::UnreadableBaseline {
        name: name.clone(),
        path: path.clone(),
        error,
    })?;
    let leaks = parse_report(&bytes).map_err(|error| SteeringError::NotAReport { name: name.clone(), error })?;
    Ok(Some(Baseline { path, keys: leaks.iter().map(baseline_key).collect() }))
}

/// Fingerprints listed in `.gitleaksignore` files (one per line; `#` starts a comment).
pub(crate) fn load_ignores(files: &[PathBuf]) -> BTreeSet<String> {
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The leaks not to report: by `.gitleaksignore` fingerprint, or in the baseline.
#[derive(Debug, Clone)]
pub(crate) struct Suppressions {
    pub(crate) cli: Cli,
    pub(crate) ignored: BTreeSet<String>,
    pub(crate) baseline: Option<Baseline>,
}

impl Suppressions {
    /// True when `leak` is ignored or in the baseline.
    pub(crate) fn suppress(&self, leak: &Leak) -> bool {
        if self.ignored.contains(&leak.fingerprint()) {
            return true;
        }
        // gitleaks 8.19+ also accepts `file:rule:line` for findings in commits.
        if self.cli == Cli::GitDir && !leak.commit.is_empty() && self.ignored.contains(&leak.global_fingerprint()) {
            return true;
        }
        self.baseline.as_ref().is_some_and(|baseline| baseline.keys.contains(&baseline_key(leak)))
    }
}

/// The ignore files gitleaks would read for this layout: the repository root's, and the
/// project's when it is a subdirectory.
pub(crate) fn ignore_files(layout: &Layout, project: &Path) -> Vec<PathBuf> {
    let mut files = vec![layout.scan_root.join(".gitleaksignore")];
    if !layout.prefix.is_empty() {
        files.push(project.join(".gitleaksignore"));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".gitleaksignore");
        std::fs::write(&file, "# comment\n\nabc:a.py:rule:1\n  a.py:rule:2  \n").unwrap();
        let ignored = load_ignores(&[file, dir.path().join("missing")]);
        assert_eq!(ignored, BTreeSet::from(["abc:a.py:rule:1".to_string(), "a.py:rule:2".to_string()]));
    }

    #[test]
    fn suppression_by_fingerprint_and_baseline() {
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        let ignored = BTreeSet::from([leaks[0].global_fingerprint()]);
        let detect = Suppressions { cli: Cli::Detect, ignored: ignored.clone(), baseline: None };
        assert!(!detect.suppress(&leaks[0]), "gitleaks before 8.19 wants the commit in the fingerprint");
        let git = Suppressions { cli: Cli::GitDir, ignored, baseline: None };
        assert!(git.suppress(&leaks[0]) && !git.suppress(&leaks[1]));
        let baseline = Baseline { path: "b.json".into(), keys: BTreeSet::from([baseline_key(&leaks[1])]) };
        let with_baseline = Suppressions { cli: Cli::Detect, ignored: BTreeSet::new(), baseline: Some(baseline) };
        assert!(with_baseline.suppress(&leaks[1]) && !with_baseline.suppress(&leaks[0]));
    }
}
