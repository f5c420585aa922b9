//! The record of the process groups a run started, and the sweep of what a killed run left.
//!
//! While a [`ProcessRecord`] is open on a state directory, every process group this process
//! starts is written to `<dir>/processes/<pid>-<start time>` when it starts (`+ pgid start`)
//! and when its leader is reaped (`- pgid start`). The file is removed when the last record
//! on the directory is closed and no group is left. A file whose writer is dead (its pid is
//! gone or has another start time, or the machine rebooted) is what a killed run left:
//! [`sweep_leftovers`] kills every process that still carries that run's tag
//! ([`crate::TAG_VARIABLE`]) and every recorded group whose leader is still the recorded
//! process, then removes the file.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{leak, procfs, spawner};

const HEADER: &str = "greenlight process groups";

/// Records the process groups this process starts under a state directory, so that the next
/// run can kill what is left if this one is killed. Open one per run; dropping it stops
/// recording there (and removes the file when no recorded group is still running).
#[derive(Debug)]
pub struct ProcessRecord {
    path: PathBuf,
    swept: Vec<Leftover>,
}

/// A process an earlier, killed run left running, killed by [`sweep_leftovers`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leftover {
    /// Its process id.
    pub pid: u32,
    /// Its command line, as bytes.
    pub command: Vec<OsString>,
    /// The process id of the greenlight run that started it.
    pub owner: u32,
}

impl Leftover {
    /// `pid 123, `sleep 300``, for messages.
    pub fn describe(&self) -> String {
        leak::describe(self.pid, &self.command)
    }
}

/// The process record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the record of started processes in {}: {source}; check that the state directory is writable", path.display())]
pub struct RecordError {
    /// The directory or file.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

#[derive(Default)]
struct FileState {
    handle: Option<std::fs::File>,
    /// Open [`ProcessRecord`]s on this file.
    users: usize,
    /// Groups written to it and not finished yet.
    live: usize,
}

fn files() -> MutexGuard<'static, HashMap<PathBuf, FileState>> {
    static FILES: LazyLock<Mutex<HashMap<PathBuf, FileState>>> = LazyLock::new(Mutex::default);
    FILES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ProcessRecord {
    /// Sweeps what killed runs left in `dir` ([`sweep_leftovers`]), then records every process
    /// group started from now on in `dir/processes/` until dropped.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, RecordError> {
        let dir = dir.as_ref();
        let swept = sweep_leftovers(dir);
        let folder = dir.join("processes");
        std::fs::create_dir_all(&folder).map_err(|source| RecordError { path: folder.clone(), source })?;
        let path = folder.join(spawner::owner());
        let mut files = files();
        let state = files.entry(path.clone()).or_default();
        if state.handle.is_none() {
            let to_error = |source| RecordError { path: path.clone(), source };
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(to_error)?;
            if file.metadata().map_err(to_error)?.len() == 0 {
                writeln!(file, "{HEADER} boot={}", procfs::boot_id()).map_err(to_error)?;
            }
            state.handle = Some(file);
        }
        state.users += 1;
        drop(files);
        Ok(Self { path, swept })
    }

    /// What the sweep at opening killed.
    pub fn swept(&self) -> &[Leftover] {
        &self.swept
    }
}

impl Drop for ProcessRecord {
    fn drop(&mut self) {
        let mut files = files();
        if let Some(state) = files.get_mut(&self.path) {
            state.users = state.users.saturating_sub(1);
            if state.users == 0 {
                state.handle = None;
                if state.live == 0 {
                    let _ = std::fs::remove_file(&self.path);
                    files.remove(&self.path);
                }
            }
        }
    }
}

/// One started group, written to the records open when it started.
#[derive(Debug)]
pub(crate) struct RecordEntry {
    pgid: i32,
    start: u64,
    files: Vec<PathBuf>,
}

impl RecordEntry {
    /// Writes `+ pgid start` to every open record.
    pub(crate) fn started(pgid: i32, start: u64) -> Self {
        let mut files = files();
        let mut written = Vec::new();
        for (path, state) in files.iter_mut() {
            if let Some(handle) = &mut state.handle {
                let _ = writeln!(handle, "+ {pgid} {start}");
                state.live += 1;
                written.push(path.clone());
            }
        }
        Self { pgid, start, files: written }
    }

    /// Writes `- pgid start` where the start was written; removes files no longer needed.
    pub(crate) fn finished(self) {
        let mut files = files();
        for path in &self.files {
            let Some(state) = files.get_mut(path) else { continue };
            state.live = state.live.saturating_sub(1);
            match &mut state.handle {
                Some(handle) => {
                    let _ = writeln!(handle, "- {} {}", self.pgid, self.start);
                }
                None if state.live == 0 => {
                    let _ = std::fs::remove_file(path);
                    files.remove(path);
                }
                None => {
                    if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
                        let _ = writeln!(file, "- {} {}", self.pgid, self.start);
                    }
                }
            }
        }
    }
}

/// What one record file says.
struct Recorded {
    path: PathBuf,
    owner_pid: i32,
    owner_start: u64,
    boot: String,
    groups: HashSet<(i32, u64)>,
}

fn read_record(path: &Path) -> Option<Recorded> {
    let name = path.file_name()?.to_str()?;
    let (pid, start) = name.split_once('-')?;
    let (owner_pid, owner_start) = (pid.parse().ok()?, start.parse().ok()?);
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let boot = lines.next()?.strip_prefix(HEADER)?.trim().strip_prefix("boot=")?.to_string();
    let mut groups = HashSet::new();
    for line in lines {
        let mut words = line.split_ascii_whitespace();
        let (Some(sign), Some(pgid), Some(start)) = (words.next(), words.next(), words.next()) else { continue };
        let (Ok(pgid), Ok(start)) = (pgid.parse::<i32>(), start.parse::<u64>()) else { continue };
        match sign {
            "+" => groups.insert((pgid, start)),
            "-" => groups.remove(&(pgid, start)),
            _ => false,
        };
    }
    Some(Recorded { path: path.to_path_buf(), owner_pid, owner_start, boot, groups })
}

/// Kills what greenlight runs that were killed (SIGKILL, a crash, the machine's OOM killer)
/// left running in state directory `dir`: processes carrying such a run's tag, and recorded
/// groups whose leader is still the recorded process (same pid and start time). Records of
/// runs that are still alive are left alone. Returns what was killed and logs it as a warning.
pub fn sweep_leftovers(dir: impl AsRef<Path>) -> Vec<Leftover> {
    let folder = dir.as_ref().join("processes");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let boot = procfs::boot_id();
    let own = spawner::owner();
    let mut dead = Vec::new();
    for entry in entries.flatten() {
        if entry.file_name().to_str() == Some(own) {
            continue;
        }
        let Some(record) = read_record(&entry.path()) else { continue };
        if record.boot != boot {
            // Everything it started ended with that boot.
            let _ = std::fs::remove_file(&record.path);
            continue;
        }
        if procfs::stat(record.owner_pid).is_some_and(|stat| stat.start == record.owner_start && !stat.is_zombie()) {
            continue;
        }
        dead.push(record);
    }
    if dead.is_empty() {
        return Vec::new();
    }
    let killed = kill_leftovers(&dead);
    for record in &dead {
        let _ = std::fs::remove_file(&record.path);
    }
    if !killed.is_empty() {
        let list = killed.iter().map(Leftover::describe).collect::<Vec<_>>().join("; ");
        let count = if killed.len() == 1 { "1 process".to_string() } else { format!("{} processes", killed.len()) };
        tracing::warn!("killed {count} that an earlier greenlight run left running when it was killed: {list}");
    }
    killed
}

fn kill_leftovers(dead: &[Recorded]) -> Vec<Leftover> {
    let me = std::process::id() as i32;
    let prefixes: Vec<(String, i32)> =
        dead.iter().map(|record| (format!("{}-{}-", record.owner_pid, record.owner_start), record.owner_pid)).collect();
    let mut killed: Vec<Leftover> = Vec::new();
    let mut targets_seen: HashSet<(i32, u64)> = HashSet::new();
    for _round in 0..3 {
        let stats: Vec<procfs::Stat> = procfs::pids()
            .into_iter()
            .filter(|&pid| pid != me)
            .filter_map(procfs::stat)
            .filter(|stat| !stat.is_zombie())
            .collect();
        // Groups whose leader is still the recorded process: all their members go.
        let mut groups: HashMap<i32, i32> = HashMap::new();
        for stat in &stats {
            for record in dead {
                if stat.pgrp == stat.pid && record.groups.contains(&(stat.pid, stat.start)) {
                    groups.insert(stat.pid, record.owner_pid);
                }
            }
        }
        let mut targets = Vec::new();
        for stat in &stats {
            let owner = groups.get(&stat.pgrp).copied().or_else(|| {
                let tag = procfs::tag(stat.pid)?;
                prefixes.iter().find(|(prefix, _)| tag.starts_with(prefix.as_bytes())).map(|(_, owner)| *owner)
            });
            if let Some(owner) = owner {
                targets.push((stat.clone(), owner));
            }
        }
        let mut new = false;
        for (stat, owner) in targets {
            if !targets_seen.insert((stat.pid, stat.start)) {
                continue;
            }
            new = true;
            let command = procfs::cmdline(stat.pid);
            if leak::kill_process(stat.pid, stat.start) {
                killed.push(Leftover { pid: stat.pid as u32, command, owner: owner as u32 });
            }
        }
        if !new {
            break;
        }
    }
    // Leftovers re-parented to this process (it is a subreaper) die as its zombies: reap them.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let remaining = leak::reap_known(&targets_seen);
        if remaining == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    killed
}
