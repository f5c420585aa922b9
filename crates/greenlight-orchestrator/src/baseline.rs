//! Comparing a run's findings with a baseline (see [`greenlight_report::baseline`]): the
//! findings of the merge base (`--new-from REV`, run in a temporary worktree with the user's
//! result cache and project environments, only for the checks whose verdict it can change) or
//! of a baseline file (`baseline`, written by `greenlight baseline write`).

use std::path::Path;
use std::sync::Arc;

use greenlight_process::Stop;
use greenlight_report::RunReport;
use greenlight_report::baseline::{Baseline, BaselineInfo, compare};

use crate::pipeline::{PipelineError, RunRequest};
use crate::plan::Selection;
use crate::revision::{Placement, Repo, Worktree};
use crate::run::NoObserver;
use crate::settings::{BaselineSource, RunFlags, StateLocation};

/// Compares `report` of the project at `root` with `source`. A baseline that cannot be had
/// (no repository, an unknown revision, an unreadable file) is a usage error: the run would
/// otherwise block on every existing finding, which is what the user asked not to.
pub async fn apply(
    report: &mut RunReport,
    source: &BaselineSource,
    root: &Path,
    request: &RunRequest<'_>,
    stop: &Stop,
) -> Result<(), PipelineError> {
    match source {
        BaselineSource::File(file) => {
            let path = root.join(file);
            let text = std::fs::read_to_string(&path).map_err(|error| {
                PipelineError::Baseline(format!(
                    "baseline file {}: {error}; write it with `greenlight baseline write {}`",
                    path.display(),
                    file.display()
                ))
            })?;
            let baseline: Baseline = serde_json::from_str(&text).map_err(|error| {
                PipelineError::Baseline(format!("baseline file {}: not a baseline ({error})", path.display()))
            })?;
            let info = BaselineInfo {
                source: "file".to_string(),
                commit: baseline.commit.clone(),
                file: Some(file.display().to_string()),
                ..BaselineInfo::default()
            };
            compare(report, &baseline, info);
        }
        BaselineSource::MergeBase(rev) => {
            let error = |message: String| PipelineError::Baseline(format!("--new-from {rev}: {message}"));
            let repo = Repo::open(root, &request.env, stop).await.map_err(error)?;
            let target = repo.resolve(rev, stop).await.map_err(error)?;
            let head = repo.resolve("HEAD", stop).await.map_err(error)?;
            let base = repo.merge_base(&target, &head, stop).await.map_err(error)?;
            let mut info = BaselineInfo {
                source: "rev".to_string(),
                rev: Some(rev.clone()),
                commit: Some(base.clone()),
                ..BaselineInfo::default()
            };
            let checks = Baseline::checks_to_compare(report);
            if checks.is_empty() {
                report.baseline = Some(info);
                return Ok(());
            }
            let base_report = run_at(&repo, &base, root, &checks, request, stop).await?;
            for check in &base_report.checks {
                if checks.contains(&check.id)
                    && !matches!(check.outcome, greenlight_report::Outcome::Passed | greenlight_report::Outcome::Failed)
                {
                    info.notes.push(format!(
                        "{} not compared: at the merge base it {} ({})",
                        check.id,
                        check.outcome,
                        check.reason.as_deref().unwrap_or(&check.summary)
                    ));
                }
            }
            compare(report, &Baseline::from_report(&base_report), info);
        }
    }
    Ok(())
}

/// Runs `checks` on `commit` in a temporary worktree, with the state of the user's project at
/// `root`; the worktree is removed afterwards.
async fn run_at(
    repo: &Repo,
    commit: &str,
    root: &Path,
    checks: &[String],
    request: &RunRequest<'_>,
    stop: &Stop,
) -> Result<RunReport, PipelineError> {
    let worktree = Worktree::add(repo, commit, "baseline", Placement::Fixed, stop)
        .await
        .map_err(|error| PipelineError::Baseline(format!("the merge base {commit}: {error}")))?;
    let checkout = worktree.project_root();
    let base_request = RunRequest {
        registry: request.registry,
        selection: Selection { only: checks.to_vec(), skip: Vec::new(), partition: None },
        flags: RunFlags { rev: Some(commit.to_string()), outputs: Vec::new(), ..request.flags.clone() },
        overrides: request.overrides.clone(),
        env: request.env.clone(),
        state: StateLocation::UserProject(root.to_path_buf()),
    };
    let result = if checkout.is_dir() {
        Box::pin(crate::pipeline::run_project(&checkout, &base_request, Arc::new(NoObserver), stop)).await
    } else {
        Err(PipelineError::Baseline(format!(
            "the project directory does not exist at the merge base {commit}; compare with a later revision"
        )))
    };
    let _ = worktree.remove().await;
    result
}
