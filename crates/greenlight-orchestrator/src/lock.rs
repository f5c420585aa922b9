//! Advisory file locks, so concurrent greenlight runs do not corrupt shared state.
//!
//! A lock is exclusive ([`FileLock::acquire`]) or shared ([`Mode::Shared`]: many readers, no
//! writer). So that a waiter can say what it waits for, holders are recorded beside the lock:
//! a [`Holder`] is a file `<lock>.<pid>.holder` naming what the process does and since when,
//! removed when the holder is dropped; [`holders`] reads the live ones.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use greenlight_process::Stop;

/// Shared (readers) or exclusive (a writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Many holders at once, none exclusive.
    Shared,
    /// One holder.
    Exclusive,
}

/// A lock on a file, released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Waits for the exclusive lock (polling, so a [`Stop`] can interrupt the wait).
    pub async fn acquire(path: &Path, stop: &Stop) -> std::io::Result<Self> {
        Self::acquire_as(path, Mode::Exclusive, stop, |_| {}).await
    }

    /// Waits for the lock in `mode`; `waiting` is called once, with how long it has waited,
    /// after the first failed attempt, then about every 10 s, so the caller can say what it
    /// waits for.
    pub async fn acquire_as(
        path: &Path,
        mode: Mode,
        stop: &Stop,
        mut waiting: impl FnMut(Duration),
    ) -> std::io::Result<Self> {
        let started = Instant::now();
        let mut next_notice = Duration::ZERO;
        loop {
            if let Some(lock) = Self::try_acquire(path, mode)? {
                return Ok(lock);
            }
            if started.elapsed() >= next_notice {
                waiting(started.elapsed());
                next_notice = started.elapsed() + Duration::from_secs(10);
            }
            if stop.is_cancelled() {
                return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled while waiting for a lock"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The lock in `mode` if nobody holds it in a conflicting mode now; `None` otherwise.
    pub fn try_acquire(path: &Path, mode: Mode) -> std::io::Result<Option<Self>> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
        let attempt = match mode {
            Mode::Shared => file.try_lock_shared(),
            Mode::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => Ok(Some(Self { file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(error)) => Err(error),
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// This process's record beside a lock: who holds it, doing what, since when. Removed on drop.
#[derive(Debug)]
pub struct Holder {
    path: PathBuf,
}

/// A live holder of a lock, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderInfo {
    /// Its process id.
    pub pid: u32,
    /// What it does with the locked thing (`using it`, `rebuilding it`).
    pub doing: String,
    /// Since when, RFC 3339 seconds.
    pub since: String,
}

impl std::fmt::Display for HolderInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "greenlight (pid {}) {} since {}", self.pid, self.doing, self.since)
    }
}

/// The record of process `pid` holding `lock`: `<lock>.<pid>.holder`.
fn holder_path(lock: &Path, pid: u32) -> PathBuf {
    let mut name = lock.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{pid}.holder"));
    lock.with_file_name(name)
}

impl Holder {
    /// Records this process as holding `lock`, doing `doing`.
    pub fn record(lock: &Path, doing: &str) -> Self {
        let path = holder_path(lock, std::process::id());
        let since = humantime::format_rfc3339_seconds(SystemTime::now());
        let _ = crate::fsutil::write_atomic(&path, format!("{since}\n{doing}\n").as_bytes());
        Self { path }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The recorded holders of `lock` whose process is alive, other than this process.
pub fn holders(lock: &Path) -> Vec<HolderInfo> {
    let Some(dir) = lock.parent() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{}.", lock.file_name().unwrap_or_default().to_string_lossy());
    let mut found: Vec<HolderInfo> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let pid: u32 = name.to_str()?.strip_prefix(&prefix)?.strip_suffix(".holder")?.parse().ok()?;
            if pid == std::process::id() {
                return None;
            }
            if !Path::new(&format!("/proc/{pid}")).exists() {
                // A run that was killed left its record.
                let _ = std::fs::remove_file(entry.path());
                return None;
            }
            let text = std::fs::read_to_string(entry.path()).ok()?;
            let mut lines = text.lines();
            let since = lines.next()?.to_string();
            let doing = lines.next().unwrap_or("holding it").to_string();
            Some(HolderInfo { pid, doing, since })
        })
        .collect();
    found.sort_by(|a, b| a.since.cmp(&b.since));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shared_locks_coexist_and_exclude_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.lock");
        let first = FileLock::try_acquire(&path, Mode::Shared).unwrap().expect("first reader");
        let second = FileLock::try_acquire(&path, Mode::Shared).unwrap().expect("second reader");
        assert!(FileLock::try_acquire(&path, Mode::Exclusive).unwrap().is_none());
        drop((first, second));
        let writer = FileLock::try_acquire(&path, Mode::Exclusive).unwrap().expect("writer");
        assert!(FileLock::try_acquire(&path, Mode::Shared).unwrap().is_none());
        drop(writer);
    }

    #[test]
    fn holders_are_recorded_until_dropped_and_dead_ones_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("env.lock");
        // pid 1 is alive on every Linux system; a pid above the kernel's maximum never is.
        std::fs::write(dir.path().join("env.lock.1.holder"), "2026-12-01T12:00:00Z\nusing it\n").unwrap();
        std::fs::write(dir.path().join("env.lock.4194305.holder"), "2026-12-01T12:00:00Z\nusing it\n").unwrap();
        // Another lock's holder beside it is not this lock's.
        std::fs::write(dir.path().join("env.build.lock.1.holder"), "2026-12-01T12:00:00Z\nbuilding it\n").unwrap();
        let own = Holder::record(&path, "rebuilding it");
        let found = holders(&path);
        assert_eq!(
            found,
            vec![HolderInfo { pid: 1, doing: "using it".to_string(), since: "2026-12-01T12:00:00Z".to_string() }]
        );
        assert_eq!(found[0].to_string(), "greenlight (pid 1) using it since 2026-12-01T12:00:00Z");
        assert!(!dir.path().join("env.lock.4194305.holder").exists(), "a dead holder's record is removed");
        let own_path = dir.path().join(format!("env.lock.{}.holder", std::process::id()));
        assert!(own_path.exists());
        drop(own);
        assert!(!own_path.exists());
    }
}
