//! What a killed run left in the engine, found by label and removed by the next run.
//!
//! Every layer and step container a build makes carries `io.greenlight.run=<run id>`
//! ([`crate::rewrite`]). While the check runs, it holds a lock on a record of its run under the
//! state directory (`.greenlight/docker-runs/<run id>`); the record is removed when the check
//! has removed everything. A record nobody holds is a run that was killed (SIGKILL, a crash,
//! the machine stopping) or could not remove everything: the next docker check on the same
//! engine removes the containers and images labelled with that run id, then the record.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_checker::CheckLog;

use crate::engine::{Engine, EngineError};

/// The records' directory under the state directory.
const RECORDS: &str = "docker-runs";

/// The state directory of the run, from the check's log (`<state>/logs/<run id>/<check>.log`,
/// as the orchestrator lays it out); `None` for a log elsewhere (a test's).
pub(crate) fn state_dir(log_path: &Path) -> Option<PathBuf> {
    let logs = log_path.parent()?.parent()?;
    (logs.file_name()? == "logs").then(|| logs.parent().map(Path::to_path_buf)).flatten()
}

/// This run's record, locked while the check runs.
pub(crate) struct RunRecord {
    path: PathBuf,
    file: File,
}

impl RunRecord {
    /// Writes and locks the record of `run_id` on `endpoint`.
    pub(crate) fn open(state_dir: &Path, run_id: &str, endpoint: &str) -> std::io::Result<Self> {
        let dir = state_dir.join(RECORDS);
        std::fs::create_dir_all(&dir)?;
        let name: String =
            run_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let path = dir.join(name);
        let mut file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
        file.lock()?;
        writeln!(file, "run {run_id}\nengine {endpoint}")?;
        Ok(Self { path, file })
    }

    /// Everything was removed: the record goes.
    pub(crate) fn done(self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// A record nobody holds: `(file, run id)` of runs on `endpoint`.
fn abandoned(state_dir: &Path, endpoint: &str) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(state_dir.join(RECORDS)) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file) = std::fs::OpenOptions::new().read(true).write(true).open(&path) else { continue };
        if file.try_lock().is_err() {
            continue; // a live run holds it
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let field = |key: &str| text.lines().find_map(|line| line.strip_prefix(key)).map(str::trim).map(String::from);
        let _ = file.unlock();
        match (field("run "), field("engine ")) {
            (Some(run), Some(engine)) if engine == endpoint => found.push((path, run)),
            // Empty: a run between creating and locking it, or one killed then; only an old
            // one is dropped.
            (None, _) if modified_long_ago(&path) => found.push((path, String::new())),
            _ => {}
        }
    }
    found
}

fn modified_long_ago(path: &Path) -> bool {
    let modified = std::fs::metadata(path).and_then(|meta| meta.modified());
    modified.ok().and_then(|time| time.elapsed().ok()).is_some_and(|age| age > Duration::from_secs(60))
}

/// Removes what killed runs recorded under `state_dir` left on this engine, saying so in the
/// log for each run swept.
pub(crate) async fn sweep_abandoned(engine: &dyn Engine, state_dir: &Path, log: &CheckLog) {
    for (path, run) in abandoned(state_dir, &engine.endpoint()) {
        if run.is_empty() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let (containers, images, problems) = remove_run(engine, &run).await;
        if containers + images > 0 {
            log.line(&format!(
                "greenlight: removed {containers} containers and {images} images left by run {run}, which ended before it could remove them"
            ));
        }
        if problems.is_empty() {
            let _ = std::fs::remove_file(&path);
        } else {
            log.line(&format!("greenlight: could not remove everything run {run} left: {}", problems.join("; ")));
        }
    }
}

/// Removes every container and image labelled with `run`: `(containers, images, problems)`.
pub(crate) async fn remove_run(engine: &dyn Engine, run: &str) -> (usize, usize, Vec<String>) {
    let (mut containers, mut images, mut problems) = (0, 0, Vec::new());
    match engine.labelled_containers(run).await {
        Ok(ids) => {
            for id in ids {
                match engine.remove_container(&id).await {
                    Ok(()) | Err(EngineError::NotFound(_)) => containers += 1,
                    Err(error) => problems.push(format!("container {id}: {error}; remove it with `docker rm -f {id}`")),
                }
            }
        }
        Err(error) => problems.push(format!("cannot list the containers of run {run}: {error}")),
    }
    // Children before parents: an image with a child cannot go, so go round until nothing
    // more goes.
    for _ in 0..8 {
        let ids = match engine.labelled_images(run).await {
            Ok(ids) => ids,
            Err(error) => {
                problems.push(format!("cannot list the images of run {run}: {error}"));
                break;
            }
        };
        if ids.is_empty() {
            break;
        }
        let mut removed = 0;
        let mut last_error = None;
        for id in &ids {
            match engine.remove_image(id).await {
                Ok(()) | Err(EngineError::NotFound(_)) => removed += 1,
                Err(error) => last_error = Some(format!("image {id}: {error}; remove it with `docker rmi {id}`")),
            }
        }
        images += removed;
        if removed == 0 {
            problems.extend(last_error);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (containers, images, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_records_nobody_holds_are_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let live = RunRecord::open(dir.path(), "run-live", "unix:///e.sock").unwrap();
        let killed = RunRecord::open(dir.path(), "run/killed", "unix:///e.sock").unwrap();
        drop(killed); // its lock goes with the process, its file stays
        let other_engine = RunRecord::open(dir.path(), "run-elsewhere", "tcp://10.0.0.1:2375").unwrap();
        drop(other_engine);
        std::fs::write(dir.path().join(RECORDS).join("being-written"), "").unwrap();
        let found = abandoned(dir.path(), "unix:///e.sock");
        let runs: Vec<&str> = found.iter().map(|(_, run)| run.as_str()).collect();
        assert_eq!(runs, ["run/killed"]);
        live.done();
        assert!(!dir.path().join(RECORDS).join("run-live").exists());
        assert_eq!(
            state_dir(Path::new("/p/.greenlight/logs/20261201-1/docker.log")),
            Some(PathBuf::from("/p/.greenlight"))
        );
        assert_eq!(state_dir(Path::new("/tmp/docker.log")), None);
    }
}
