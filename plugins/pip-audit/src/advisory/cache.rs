//! The parsed-record cache of [`super::AdvisoryDb::load_cached`]: every record file of one
//! database as JSON, keyed by its path, size and modification time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Bumped when the cached form changes; older files are ignored.
const FORMAT: u32 = 1;

/// What identifies a file's content cheaply: path (relative to the database), size, mtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Key {
    path: String,
    len: u64,
    mtime_secs: u64,
    mtime_nanos: u32,
}

impl Key {
    /// The key of `path` now; `None` when it cannot be stat'ed.
    pub(crate) fn of(search_root: &Path, path: &Path) -> Option<Key> {
        let metadata = std::fs::metadata(path).ok()?;
        let mtime = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Key {
            path: path.strip_prefix(search_root).unwrap_or(path).to_string_lossy().into_owned(),
            len: metadata.len(),
            mtime_secs: mtime.as_secs(),
            mtime_nanos: mtime.subsec_nanos(),
        })
    }
}

/// A file's record as JSON, or why it is not usable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Content {
    /// The OSV record as JSON (kept raw: the cache file embeds it without escaping, and
    /// reading it back does not build a tree).
    Record(Box<RawValue>),
    /// Why the file is not a usable record.
    Malformed(String),
}

/// One cached file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) content: Content,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    root: String,
    entries: Vec<Entry>,
}

/// The cache of one database.
#[derive(Debug)]
pub(crate) struct Cache {
    file: PathBuf,
    root: String,
    entries: HashMap<Key, Content>,
}

impl Cache {
    /// The cache of the database at `search_root`, kept under `dir` (empty when absent or
    /// unreadable).
    pub(crate) fn open(dir: &Path, search_root: &Path) -> Cache {
        let root = std::fs::canonicalize(search_root).unwrap_or_else(|_| search_root.to_path_buf());
        let root = root.to_string_lossy().into_owned();
        let file = dir.join(format!("{:016x}.json", fnv1a(root.as_bytes())));
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|cached| cached.format == FORMAT && cached.root == root)
            .map(|cached| cached.entries.into_iter().map(|entry| (entry.key, entry.content)).collect())
            .unwrap_or_default();
        Cache { file, root, entries }
    }

    /// Takes the cached content for a file with this key.
    pub(crate) fn take(&mut self, key: &Key) -> Option<Content> {
        self.entries.remove(key)
    }

    /// Number of cached files not taken: files that changed or are gone.
    pub(crate) fn remaining(&self) -> usize {
        self.entries.len()
    }

    /// Replaces the cache with `entries` (best effort; written atomically).
    pub(crate) fn store(self, entries: Vec<Entry>) {
        let cached = CacheFile { format: FORMAT, root: self.root, entries };
        let Ok(bytes) = serde_json::to_vec(&cached) else { return };
        let Some(dir) = self.file.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let temporary = dir.join(format!(".{}.{}.tmp", std::process::id(), fnv1a(&bytes)));
        if std::fs::write(&temporary, &bytes).is_ok() && std::fs::rename(&temporary, &self.file).is_ok() {
            return;
        }
        let _ = std::fs::remove_file(&temporary);
    }
}

/// FNV-1a: a stable file name for a database path.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}
