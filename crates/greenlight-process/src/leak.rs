//! Processes that outlive the command that started them: finding, killing and reporting them.
//!
//! After a command's child exits (it stays unreaped, so its group id stays reserved), what it
//! left is found in two places:
//!
//! - below this process's own children: greenlight is the *child subreaper* of everything it
//!   starts (`PR_SET_CHILD_SUBREAPER`), so an orphan of a tool becomes greenlight's child
//!   instead of init's. Such a child belongs to the command when it is in the command's
//!   process group or carries the command's tag variable; so do all its descendants;
//! - the holders of the command's stdout and stderr pipes, by a scan of `/proc/*/fd`, when a
//!   pipe is still open after the leak timeout.
//!
//! Of those, a process is *leaked* when it left the group or held a pipe open. Members of the
//! group are killed with the group; the others one by one through a pidfd, after checking
//! their start time, so a recycled pid is never signalled.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt;
use std::time::{Duration, Instant};

use crate::procfs::{self, Stat};
use crate::spawner::{self, Running};
use crate::unix;

/// One of a command's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// A process a command started that was still alive after the command exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakedProcess {
    /// Its process id (at the time it was found; it was killed then).
    pub pid: u32,
    /// Its command line, as bytes (empty when it could not be read).
    pub command: Vec<OsString>,
    /// The command's streams it still held open.
    pub held: Vec<Stream>,
    /// True when it had left the command's process group (`setsid`, `setpgid`).
    pub left_group: bool,
}

impl LeakedProcess {
    /// `pid 123, `sleep 300``, for messages.
    pub fn describe(&self) -> String {
        describe(self.pid, &self.command)
    }
}

/// What a command left behind when it exited, as nextest reports a LEAK: processes that
/// outlived it outside its group, or that kept its stdout or stderr open past the leak
/// timeout. Everything listed was killed; the output captured until then is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The processes, as found.
    pub processes: Vec<LeakedProcess>,
    /// The streams that were still open when the leak timeout ended; reading them stopped
    /// once their holders were killed.
    pub held_open: Vec<Stream>,
}

impl Leak {
    /// A sentence for a report: "a process started by `ruff` outlived it (pid 123, `sleep
    /// 300`) and kept its stdout open; it was killed".
    pub fn message(&self, tool: &str) -> String {
        let held = |streams: &[Stream]| streams.iter().map(Stream::to_string).collect::<Vec<_>>().join(" and ");
        match self.processes.as_slice() {
            [] => format!(
                "a process started by `{tool}` kept its {} open after `{tool}` exited and could not be found",
                held(&self.held_open)
            ),
            [process] => {
                let what = if process.held.is_empty() {
                    String::new()
                } else {
                    format!(" and kept its {} open", held(&process.held))
                };
                format!("a process started by `{tool}` outlived it ({}){what}; it was killed", process.describe())
            }
            processes => {
                let list = processes.iter().map(LeakedProcess::describe).collect::<Vec<_>>().join("; ");
                let what = if self.held_open.is_empty() {
                    String::new()
                } else {
                    format!(" and kept its {} open", held(&self.held_open))
                };
                format!(
                    "{} processes started by `{tool}` outlived it ({list}){what}; they were killed",
                    processes.len()
                )
            }
        }
    }
}

/// `pid 123, `sleep 300``: a pid and its command line, shell-quoted.
pub(crate) fn describe(pid: u32, command: &[OsString]) -> String {
    if command.is_empty() { format!("pid {pid}") } else { format!("pid {pid}, `{}`", crate::cmd::quote_words(command)) }
}

/// A process found as belonging to a command.
struct Found {
    stat: Stat,
    command: Vec<OsString>,
    held: Vec<Stream>,
}

/// The processes that belong to the command of group `pgid` and tag `tag` (leader excluded),
/// plus the writers of the `open` pipes.
fn find(pgid: i32, tag: &str, open: &[(Stream, u64)]) -> Vec<Found> {
    let me = std::process::id() as i32;
    let mut found: Vec<Found> = Vec::new();
    let mut seen = HashSet::new();
    let mut queue: Vec<i32> = Vec::new();
    for child in procfs::children(me) {
        if child == pgid {
            // The leader itself is not a leak; what it still has (it is being killed) is.
            queue.extend(procfs::children(pgid));
            continue;
        }
        if spawner::is_leader(child) {
            // Another command's child: its own command settles it.
            continue;
        }
        let Some(stat) = procfs::stat(child) else { continue };
        if stat.pgrp == pgid || procfs::tag(child).is_some_and(|found| found == tag.as_bytes()) {
            queue.push(child);
        }
    }
    while let Some(pid) = queue.pop() {
        if !seen.insert(pid) {
            continue;
        }
        let Some(stat) = procfs::stat(pid) else { continue };
        queue.extend(procfs::children(pid));
        found.push(Found { command: procfs::cmdline(pid), stat, held: Vec::new() });
    }
    if !open.is_empty() {
        let inodes: Vec<u64> = open.iter().map(|(_, inode)| *inode).collect();
        for (pid, inode) in procfs::pipe_writers(&inodes) {
            let streams = open.iter().filter(|(_, open)| *open == inode).map(|(stream, _)| *stream);
            if let Some(entry) = found.iter_mut().find(|entry| entry.stat.pid == pid) {
                entry.held.extend(streams);
            } else if let Some(stat) = procfs::stat(pid) {
                seen.insert(pid);
                found.push(Found { command: procfs::cmdline(pid), stat, held: streams.collect() });
            }
        }
    }
    found
}

/// Sends SIGKILL to process `pid` if it still has this start time; true when sent. Through a
/// pidfd, so a pid reused meanwhile is never signalled.
pub(crate) fn kill_process(pid: i32, start: u64) -> bool {
    match unix::pidfd_open(pid) {
        Ok(pidfd) => {
            if procfs::stat(pid).map(|stat| stat.start) != Some(start) {
                return false;
            }
            unix::pidfd_signal(&pidfd, unix::SIGKILL).is_ok()
        }
        Err(error) if error.raw_os_error() == Some(libc::ENOSYS) || error.kind() == std::io::ErrorKind::Unsupported => {
            procfs::stat(pid).is_some_and(|stat| stat.start == start) && unix::signal_pid(pid, unix::SIGKILL)
        }
        Err(_) => false,
    }
}

/// Reaps our zombie children that `ours` accepts, never a child tokio waits for; returns how
/// many of them are still alive.
fn reap_step(ours: &dyn Fn(&Stat) -> bool) -> usize {
    let mut alive = 0;
    for child in procfs::children(std::process::id() as i32) {
        if spawner::is_leader(child) {
            continue;
        }
        let Some(stat) = procfs::stat(child) else { continue };
        if !ours(&stat) {
            continue;
        }
        if stat.is_zombie() {
            if let Ok(pidfd) = unix::pidfd_open(child)
                && procfs::stat(child).is_some_and(|again| again.start == stat.start)
            {
                unix::pidfd_reap(&pidfd);
            }
        } else {
            alive += 1;
        }
    }
    alive
}

/// Reaps those of `known` (pid, start time) that are zombie children of this process;
/// returns how many of them still exist.
pub(crate) fn reap_known(known: &HashSet<(i32, u64)>) -> usize {
    let _ = reap_step(&|stat: &Stat| known.contains(&(stat.pid, stat.start)));
    known.iter().filter(|(pid, start)| procfs::stat(*pid).is_some_and(|stat| stat.start == *start)).count()
}

/// After the child of `running` exited (unreaped): finds what it left, kills the group and
/// the rest, waits (up to a few seconds) until they are gone, reaping those re-parented to
/// this process, and returns the leak, if any. `open` lists the pipes still open and their
/// inodes.
pub(crate) async fn settle(running: &Running, open: &[(Stream, u64)]) -> Option<Leak> {
    let pgid = running.pgid;
    let mut leaked: Vec<LeakedProcess> = Vec::new();
    let mut expected: HashSet<(i32, u64)> = HashSet::new();
    // Processes forked while the first ones are being killed are caught by the next rounds.
    for round in 0..3 {
        let found = find(pgid, &running.tag, if round == 0 { open } else { &[] });
        running.signal_group(unix::SIGKILL);
        let mut new = false;
        for entry in found {
            let key = (entry.stat.pid, entry.stat.start);
            new |= expected.insert(key);
            if entry.stat.is_zombie() {
                continue;
            }
            let left_group = entry.stat.pgrp != pgid;
            if (left_group || !entry.held.is_empty()) && !leaked.iter().any(|p| p.pid == entry.stat.pid as u32) {
                leaked.push(LeakedProcess {
                    pid: entry.stat.pid as u32,
                    command: entry.command,
                    held: entry.held,
                    left_group,
                });
            }
            if left_group {
                kill_process(entry.stat.pid, entry.stat.start);
            }
        }
        if !new {
            break;
        }
    }
    // Wait until everything found is gone; orphans of the killed become our zombies.
    let deadline = Instant::now() + Duration::from_secs(3);
    let ours = |stat: &Stat| stat.pgrp == pgid || expected.contains(&(stat.pid, stat.start));
    loop {
        let alive_children = reap_step(&ours);
        let remaining =
            expected.iter().filter(|(pid, start)| procfs::stat(*pid).is_some_and(|stat| stat.start == *start)).count();
        if (alive_children == 0 && remaining == 0) || Instant::now() >= deadline {
            break;
        }
        running.signal_group(unix::SIGKILL);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let held_open: Vec<Stream> = open.iter().map(|(stream, _)| *stream).collect();
    (!leaked.is_empty() || !held_open.is_empty()).then_some(Leak { processes: leaked, held_open })
}

/// Kills, without waiting, the group `pgid` of a command that is still running (its future
/// was dropped) and what the command (tag `tag`) started outside the group. The tree is read
/// before the group is killed: a dying leader hands its children over to this process, and
/// one read in between could see them in neither place. A second round catches those forked
/// or handed over meanwhile.
pub(crate) fn kill_group_and_escaped(pgid: i32, tag: &str) {
    for _round in 0..2 {
        let found = find(pgid, tag, &[]);
        unix::signal_group(pgid, unix::SIGKILL);
        for entry in found {
            if entry.stat.pgrp != pgid && !entry.stat.is_zombie() {
                kill_process(entry.stat.pid, entry.stat.start);
            }
        }
    }
    let _ = reap_step(&|stat: &Stat| stat.pgrp == pgid);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let one = Leak {
            processes: vec![LeakedProcess {
                pid: 42,
                command: vec!["sleep".into(), "300".into()],
                held: vec![Stream::Stdout],
                left_group: true,
            }],
            held_open: vec![Stream::Stdout],
        };
        assert_eq!(
            one.message("ruff"),
            "a process started by `ruff` outlived it (pid 42, `sleep 300`) and kept its stdout open; it was killed"
        );
        let none = Leak { processes: Vec::new(), held_open: vec![Stream::Stdout, Stream::Stderr] };
        assert_eq!(
            none.message("ruff"),
            "a process started by `ruff` kept its stdout and stderr open after `ruff` exited and could not be found"
        );
    }
}
