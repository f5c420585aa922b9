//! Log files with a size limit: the first bytes, a marker line, and the last bytes.
//!
//! A log file keeps its first `head` bytes as written. Past that, output is appended until
//! the part after the head reaches twice `tail`; then that part is rewritten as a marker line
//! (`[... N bytes omitted ...]`) followed by its last `tail` bytes. So the file never holds more
//! than `head + 2 × tail` bytes plus the marker, the latest output is always on disk (a killed
//! run leaves a readable log whose end is the end), and a flood costs about twice its size in
//! writes, not its size in disk space. Commands that write to the same path share one limit.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

/// Default bytes kept at the start of a log file.
pub const DEFAULT_LOG_HEAD: u64 = 4 * 1024 * 1024;
/// Default bytes at least kept at the end of a log file.
pub const DEFAULT_LOG_TAIL: u64 = 4 * 1024 * 1024;

/// One log file's state, kept for the life of the process so that commands run one after
/// the other on the same path continue its limit.
#[derive(Default)]
struct State {
    file: Option<File>,
    users: usize,
    /// The file's length as written by us.
    len: u64,
    head: u64,
    tail: u64,
    /// Where the part after the head starts, once the head is full.
    tail_start: Option<u64>,
    /// Length of the marker line at `tail_start` (0 before the first compaction).
    marker_len: u64,
    omitted: u64,
}

static LOGS: LazyLock<Mutex<HashMap<PathBuf, Arc<Mutex<State>>>>> = LazyLock::new(Mutex::default);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A command's handle on a log file.
pub(crate) struct Log {
    state: Arc<Mutex<State>>,
}

impl Log {
    /// Opens (creating it and its directory) the log at `path` with these limits.
    pub(crate) fn open(path: &Path, head: u64, tail: u64) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let state = lock(&LOGS).entry(path.to_path_buf()).or_default().clone();
        {
            let mut guard = lock(&state);
            if guard.file.is_none() {
                let file =
                    std::fs::OpenOptions::new().create(true).read(true).write(true).truncate(false).open(path)?;
                let len = file.metadata()?.len();
                if len != guard.len {
                    // New to us, or changed behind our back: what is there counts as head.
                    *guard = State { len, tail_start: (len >= head).then_some(len), ..State::default() };
                }
                guard.file = Some(file);
            }
            guard.users += 1;
            guard.head = head;
            guard.tail = tail.max(1);
        }
        Ok(Self { state })
    }

    /// Appends `bytes`, keeping the limit.
    pub(crate) fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let mut state = lock(&self.state);
        state.append(bytes)
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        state.users = state.users.saturating_sub(1);
        if state.users == 0 {
            state.file = None;
        }
    }
}

impl State {
    fn append(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        if self.tail_start.is_none() {
            let room = self.head.saturating_sub(self.len).min(bytes.len() as u64) as usize;
            file.write_all_at(&bytes[..room], self.len)?;
            self.len += room as u64;
            bytes = &bytes[room..];
            if bytes.is_empty() {
                return Ok(());
            }
            self.tail_start = Some(self.len);
        }
        file.write_all_at(bytes, self.len)?;
        self.len += bytes.len() as u64;
        let start = self.tail_start.unwrap_or(self.len);
        let output = self.len - start - self.marker_len;
        if output > 2 * self.tail {
            self.compact(start, output)?;
        }
        Ok(())
    }

    /// Rewrites the part after the head as the marker and its last `tail` bytes.
    fn compact(&mut self, start: u64, output: u64) -> io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let mut kept = vec![0u8; self.tail as usize];
        file.read_exact_at(&mut kept, self.len - self.tail)?;
        self.omitted += output - self.tail;
        let marker = marker(self.omitted, self.head, self.tail);
        file.write_all_at(marker.as_bytes(), start)?;
        file.write_all_at(&kept, start + marker.len() as u64)?;
        self.marker_len = marker.len() as u64;
        self.len = start + self.marker_len + self.tail;
        file.set_len(self.len)
    }
}

fn marker(omitted: u64, head: u64, tail: u64) -> String {
    format!(
        "\n[... {omitted} bytes omitted: this log keeps the first {} and the last {} of the output ...]\n",
        size(head),
        size(tail)
    )
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_logs_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let log = Log::open(&path, 10, 10).unwrap();
        log.write(b"hello\n").unwrap();
        drop(log);
        let log = Log::open(&path, 10, 10).unwrap();
        log.write(b"again\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello\nagain\n");
    }

    #[test]
    fn large_logs_keep_head_marker_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.log");
        let log = Log::open(&path, 8, 16).unwrap();
        let mut all = Vec::new();
        for index in 0..1000u32 {
            let line = format!("{index:04}\n");
            all.extend_from_slice(line.as_bytes());
            log.write(line.as_bytes()).unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len <= 8 + 2 * 16 + 100, "{len} bytes after line {index}");
        }
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        assert!(text.starts_with("0000\n000"), "{text}");
        assert!(text.ends_with("0998\n0999\n"), "{text}");
        // At least the last `tail` bytes are there, and the count adds up.
        let (_, after) = text.split_once("bytes omitted").unwrap();
        let omitted: u64 = text.split("[... ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let kept_tail = after.split_once("...]\n").unwrap().1;
        assert!(kept_tail.len() >= 16);
        assert_eq!(8 + omitted + kept_tail.len() as u64, all.len() as u64);
        assert!(all.ends_with(kept_tail.as_bytes()));
    }

    #[test]
    fn sizes() {
        assert_eq!(size(4 * 1024 * 1024), "4 MiB");
        assert_eq!(size(2048), "2 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
