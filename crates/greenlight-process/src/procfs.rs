//! What `/proc` says about processes (Linux): identity, family, environment, open pipes.
//!
//! Every reader returns `None` or an empty list for a process that is gone or not readable
//! (another user's): callers treat that as "not ours".

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The environment variable every started process gets: `<owner pid>-<owner start>-<serial>`.
/// Descendants inherit it, so what a command started can be found after it left the group.
pub const TAG_VARIABLE: &str = greenlight_env::EnvVars::GREENLIGHT_PROCESS_TAG;

/// The fields of `/proc/<pid>/stat` this crate uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) pid: i32,
    /// `R`, `S`, `D`, `Z`, ...
    pub(crate) state: u8,
    pub(crate) ppid: i32,
    pub(crate) pgrp: i32,
    /// Start time in clock ticks since boot: with the pid, the identity of a process.
    pub(crate) start: u64,
}

impl Stat {
    /// A zombie: exited, not reaped yet.
    pub(crate) fn is_zombie(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

/// Parses the contents of a `stat` file. The command name is in parentheses and may hold
/// spaces and parentheses itself: the fields start after the last `)`.
pub(crate) fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|&byte| byte == b'(')?;
    let close = text.iter().rposition(|&byte| byte == b')')?;
    let pid = std::str::from_utf8(&text[..open]).ok()?.trim().parse().ok()?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Field 3 of proc(5) is fields[0]; starttime is field 22.
    Some(Stat {
        pid,
        state: *fields.first()?.as_bytes().first()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The process `pid`, if it exists (zombies included).
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read(proc_path(pid, "stat")).ok()?)
}

/// The start time of this process, for its identity in records and tags.
pub(crate) fn own_start() -> u64 {
    stat(std::process::id() as i32).map_or(0, |stat| stat.start)
}

/// The id of the current boot: start times are only comparable within one.
pub(crate) fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| id.trim().to_string()).unwrap_or_default()
}

/// Every process id in `/proc`.
pub(crate) fn pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries.flatten().filter_map(|entry| entry.file_name().to_str()?.parse().ok()).collect()
}

/// True when the kernel lists each task's children (`CONFIG_PROC_CHILDREN`).
fn lists_children() -> bool {
    static LISTS: OnceLock<bool> = OnceLock::new();
    *LISTS.get_or_init(|| {
        let me = std::process::id();
        std::fs::metadata(format!("/proc/{me}/task/{me}/children")).is_ok()
    })
}

/// The children of `pid` (of all its threads); none for a zombie or a process that is gone.
/// Without `CONFIG_PROC_CHILDREN`, the list comes from a scan of every process's parent.
pub(crate) fn children(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    if !lists_children() {
        return pids().into_iter().filter(|&child| stat(child).is_some_and(|stat| stat.ppid == pid)).collect();
    }
    let Ok(tasks) = std::fs::read_dir(proc_path(pid, "task")) else {
        return found;
    };
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        found.extend(text.split_ascii_whitespace().filter_map(|child| child.parse::<i32>().ok()));
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The value of [`TAG_VARIABLE`] in the environment `pid` started with. `None` for a zombie,
/// a process that is not ours, or one started without it.
pub(crate) fn tag(pid: i32) -> Option<Vec<u8>> {
    let environ = std::fs::read(proc_path(pid, "environ")).ok()?;
    let prefix = format!("{TAG_VARIABLE}=");
    environ.split(|&byte| byte == 0).find_map(|entry| entry.strip_prefix(prefix.as_bytes())).map(<[u8]>::to_vec)
}

/// The command line of `pid` as its words (empty for a zombie or a kernel thread).
pub(crate) fn cmdline(pid: i32) -> Vec<OsString> {
    let Ok(bytes) = std::fs::read(proc_path(pid, "cmdline")) else {
        return Vec::new();
    };
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|&byte| byte == 0).map(|word| OsString::from_vec(word.to_vec())).collect()
}

/// The inode of the pipe behind this process's descriptor `fd`, if it is a pipe.
pub(crate) fn pipe_inode(fd: i32) -> Option<u64> {
    let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    parse_pipe_link(target.to_str()?)
}

fn parse_pipe_link(target: &str) -> Option<u64> {
    target.strip_prefix("pipe:[")?.strip_suffix(']')?.parse().ok()
}

/// The processes other than this one that hold one of these pipes open for writing, with the
/// inode each holds. A full scan of `/proc/*/fd`: only for when a pipe did not close.
pub(crate) fn pipe_writers(inodes: &[u64]) -> Vec<(i32, u64)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for pid in pids() {
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_path(pid, "fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Some(inode) = std::fs::read_link(fd.path()).ok().and_then(|t| t.to_str().and_then(parse_pipe_link))
            else {
                continue;
            };
            if !inodes.contains(&inode) || found.contains(&(pid, inode)) {
                continue;
            }
            let info = proc_path(pid, "fdinfo").join(fd.file_name());
            if std::fs::read_to_string(info).is_ok_and(|info| opened_for_writing(&info)) {
                found.push((pid, inode));
            }
        }
    }
    found
}

/// True when an `fdinfo` text says the descriptor was opened for writing (`flags:` is octal;
/// the access mode is its low two bits: 1 write-only, 2 read-write).
fn opened_for_writing(info: &str) -> bool {
    info.lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .and_then(|flags| u32::from_str_radix(flags.trim(), 8).ok())
        .is_some_and(|flags| matches!(flags & 0o3, 1 | 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_a_strange_name() {
        let text = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        let stat = parse_stat(text).unwrap();
        assert_eq!(stat, Stat { pid: 4242, state: b'S', ppid: 1, pgrp: 4242, start: 987654 });
    }

    #[test]
    fn own_stat_is_read() {
        let me = stat(std::process::id() as i32).unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.start > 0);
        assert!(!me.is_zombie());
    }

    #[test]
    fn pipe_links_and_write_flags() {
        assert_eq!(parse_pipe_link("pipe:[12345]"), Some(12345));
        assert_eq!(parse_pipe_link("/dev/null"), None);
        assert!(opened_for_writing("pos:\t0\nflags:\t01\nmnt_id:\t15\n"));
        assert!(opened_for_writing("pos:\t0\nflags:\t02000001\n"));
        assert!(!opened_for_writing("pos:\t0\nflags:\t02000000\n"));
    }
}
