//! Durations of earlier runs, to start the longest checks first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Last known duration of each node, stored in `.greenlight/history.json`.
#[derive(Debug, Default)]
pub struct History {
    path: PathBuf,
    durations: BTreeMap<String, u64>,
    changed: bool,
}

impl History {
    /// Loads the history of the project whose state directory is `state_dir`.
    pub fn load(state_dir: &Path) -> Self {
        let path = state_dir.join("history.json");
        let durations =
            std::fs::read(&path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        Self { path, durations, changed: false }
    }

    /// The last duration of `id`.
    pub fn expected(&self, id: &str) -> Option<Duration> {
        self.durations.get(id).map(|ms| Duration::from_millis(*ms))
    }

    /// Records a duration.
    pub fn record(&mut self, id: &str, duration_ms: u64) {
        self.durations.insert(id.to_string(), duration_ms);
        self.changed = true;
    }

    /// Writes it back if it changed.
    pub fn save(&self) {
        if self.changed
            && let Ok(bytes) = serde_json::to_vec_pretty(&self.durations)
        {
            let _ = crate::fsutil::write_atomic(&self.path, &bytes);
        }
    }
}
