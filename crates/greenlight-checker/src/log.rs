//! The check's log file, for what greenlight itself notes between the tools' output.

use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use crate::context::CheckContext;

/// An open handle on the check's log file (appending). Writing is best effort: the log is for
/// people, and a log that cannot be written never changes a verdict.
#[derive(Debug)]
pub struct CheckLog {
    file: Mutex<Option<std::fs::File>>,
}

impl CheckLog {
    /// Opens `path` for appending, creating it and its directory.
    pub fn open(path: &Path) -> Self {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        Self { file: Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path).ok()) }
    }

    /// Appends `text` as it is.
    pub fn raw(&self, text: &str) {
        if let Some(file) = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut() {
            let _ = file.write_all(text.as_bytes());
        }
    }

    /// Appends `line` (trailing whitespace trimmed) and a line break.
    pub fn line(&self, line: &str) {
        self.raw(&format!("{}\n", line.trim_end()));
    }
}

impl CheckContext {
    /// The check's log file, open for appending ([`CheckContext::log_path`]).
    pub fn log(&self) -> CheckLog {
        CheckLog::open(&self.log_path)
    }
}
