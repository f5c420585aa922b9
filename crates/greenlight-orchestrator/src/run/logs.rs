//! Rotation of the runs' logs in the state directory's `logs/<run id>/`: the last
//! [`KEEP_RUNS`] runs are kept, and the oldest go first while all of them hold more than
//! [`MAX_BYTES`]; the current run's are never removed.

use std::path::{Path, PathBuf};

/// How many runs' logs are kept.
pub(super) const KEEP_RUNS: usize = 20;
/// The most the kept logs hold together (100 MiB), the current run's aside.
pub(super) const MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Removes the oldest runs' logs under `dir` beyond `keep` runs, then while the runs hold more
/// than `max_bytes`, never `current`'s (run ids sort by their start time).
pub(super) fn prune(dir: &Path, current: &str, keep: usize, max_bytes: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut runs: Vec<(PathBuf, u64)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() && path.file_name().is_some_and(|name| name != current))
        .map(|path| {
            let size = dir_size(&path);
            (path, size)
        })
        .collect();
    runs.sort();
    // The current run counts against the number kept, not against the size cap.
    let mut total: u64 = runs.iter().map(|(_, size)| size).sum();
    let mut count = runs.len() + 1;
    for (path, size) in &runs {
        if count <= keep && total <= max_bytes {
            break;
        }
        if std::fs::remove_dir_all(path).is_ok() {
            total -= size;
            count -= 1;
        }
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |meta| meta.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_runs(dir: &Path, runs: &[(&str, usize)]) {
        for (id, size) in runs {
            std::fs::create_dir_all(dir.join(id)).unwrap();
            std::fs::write(dir.join(id).join("pytest.log"), vec![b'x'; *size]).unwrap();
        }
    }

    fn left(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_oldest_runs_go_first_beyond_the_count() {
        let dir = tempfile::tempdir().unwrap();
        make_runs(dir.path(), &[("20261201-1", 1), ("20261201-2", 1), ("20261201-3", 1), ("20261201-4", 1)]);
        prune(dir.path(), "20261201-4", 2, MAX_BYTES);
        assert_eq!(left(dir.path()), ["20261201-3", "20261201-4"]);
    }

    #[test]
    fn the_oldest_runs_go_while_the_logs_are_too_big_but_never_the_current_run() {
        let dir = tempfile::tempdir().unwrap();
        make_runs(dir.path(), &[("20261201-1", 600), ("20261201-2", 300), ("20261201-3", 300), ("20261201-4", 5000)]);
        prune(dir.path(), "20261201-4", 20, 700);
        assert_eq!(left(dir.path()), ["20261201-2", "20261201-3", "20261201-4"]);
        // However big the current run's logs are, they stay.
        prune(dir.path(), "20261201-4", 20, 0);
        assert_eq!(left(dir.path()), ["20261201-4"]);
    }

    #[test]
    fn a_missing_directory_is_nothing_to_prune() {
        prune(Path::new("/nonexistent/greenlight/logs"), "x", 1, 0);
    }
}
