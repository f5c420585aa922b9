//! Where children are forked, and the handle on a running child and its group.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process.
//! Under a tokio multi-thread runtime the caller's thread may be a blocking-pool thread that
//! exits after ten idle seconds, or a worker that `block_in_place` turned into one: a child
//! forked there would be killed mid-run. So every child is forked on one dedicated thread
//! that is never stopped and lives exactly as long as the process; the caller's runtime is
//! entered there, so the child's pipes and exit belong to the caller's runtime. Spawning is
//! a `fork` and an `exec`, about a millisecond: serialising it is cheap next to what tools
//! take to run, and it also means no other child is forked while a pipe meant for one child
//! is open in this process.

use std::collections::HashSet;
use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use crate::record::RecordEntry;
use crate::{leak, procfs, unix};

type Request = (tokio::process::Command, tokio::runtime::Handle, String, oneshot::Sender<io::Result<Running>>);

static SPAWNER: OnceLock<Option<mpsc::Sender<Request>>> = OnceLock::new();
static SERIAL: AtomicU64 = AtomicU64::new(0);
/// Children started here and not reaped yet: tokio reaps them, nothing else may.
static LEADERS: LazyLock<Mutex<HashSet<i32>>> = LazyLock::new(Mutex::default);

fn leaders() -> std::sync::MutexGuard<'static, HashSet<i32>> {
    LEADERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// True for a child this process started (a group leader) that tokio has not reaped yet.
pub(crate) fn is_leader(pid: i32) -> bool {
    leaders().contains(&pid)
}

/// This process's identity in tags and records: `<pid>-<start time>`.
pub(crate) fn owner() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| format!("{}-{}", std::process::id(), procfs::own_start()))
}

/// A fresh tag for one command ([`procfs::TAG_VARIABLE`]).
pub(crate) fn new_tag() -> String {
    format!("{}-{}", owner(), SERIAL.fetch_add(1, Ordering::Relaxed))
}

fn spawner() -> Option<&'static mpsc::Sender<Request>> {
    SPAWNER
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Request>();
            let thread = std::thread::Builder::new().name("process-spawner".into()).spawn(move || {
                if !unix::become_subreaper() {
                    tracing::debug!("cannot become the child subreaper: processes that leave their group are found only by their pipes");
                }
                // The thread never returns while the process lives: the senders are static.
                while let Ok((command, handle, tag, reply)) = receiver.recv() {
                    let _runtime = handle.enter();
                    let result = spawn_here(command, tag);
                    // The caller is gone (its future was dropped): `Running`'s drop kills it.
                    drop(reply.send(result));
                }
            });
            thread.ok().map(|_| sender)
        })
        .as_ref()
}

/// Starts `command` on the spawning thread; `tag` is the value of its tag variable.
pub(crate) async fn spawn(command: tokio::process::Command, tag: String) -> io::Result<Running> {
    let spawner = spawner().ok_or_else(|| io::Error::other("cannot start the thread that starts processes"))?;
    let (reply, response) = oneshot::channel();
    spawner
        .send((command, tokio::runtime::Handle::current(), tag, reply))
        .map_err(|_| io::Error::other("the thread that starts processes is gone"))?;
    response.await.map_err(|_| io::Error::other("the thread that starts processes is gone"))?
}

fn spawn_here(mut command: tokio::process::Command, tag: String) -> io::Result<Running> {
    let child = command.spawn()?;
    let pid = child.id().map_or(0, |pid| pid as i32);
    leaders().insert(pid);
    // The child is unreaped: its /proc entry and id are ours until we wait for it.
    let start = procfs::stat(pid).map_or(0, |stat| stat.start);
    let pidfd = unix::pidfd_open(pid).ok();
    let record = RecordEntry::started(pid, start);
    Ok(Running { child: Some(child), pgid: pid, pidfd, exit: None, tag, record: Some(record), reaped: false })
}

/// A running child that leads its own process group, until it is reaped.
///
/// Until [`Running::reap`], the child is alive or a zombie: its id and its group id are
/// reserved, so [`Running::signal_group`] can only reach processes of that group. Dropped
/// unreaped (a dropped command future), it kills the group and what the command left outside
/// it, and tokio reaps the child.
pub(crate) struct Running {
    child: Option<tokio::process::Child>,
    /// The child's pid, which is its group id.
    pub(crate) pgid: i32,
    pidfd: Option<OwnedFd>,
    exit: Option<AsyncFd<OwnedFd>>,
    /// The command's tag.
    pub(crate) tag: String,
    record: Option<RecordEntry>,
    reaped: bool,
}

impl Running {
    /// The child's pipes and stdin.
    pub(crate) fn child_mut(&mut self) -> Option<&mut tokio::process::Child> {
        self.child.as_mut()
    }

    /// Completes when the child has exited, without reaping it.
    pub(crate) async fn exited(&mut self) {
        if self.reaped {
            return;
        }
        if self.exit.is_none()
            && let Some(pidfd) = self.pidfd.take()
        {
            self.exit = unix::async_pidfd(pidfd).ok();
        }
        match &self.exit {
            Some(fd) => {
                // A pidfd stays readable once the process exited: one readiness is enough.
                let _ = fd.readable().await;
            }
            None => {
                while !unix::exited_unreaped(self.pgid) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    /// Signals every process of the group; false once reaped or when the group is empty.
    pub(crate) fn signal_group(&self, signal: i32) -> bool {
        !self.reaped && unix::signal_group(self.pgid, signal)
    }

    /// Reaps the child (after [`Running::exited`]): from here on its group is never signalled.
    pub(crate) async fn reap(&mut self) -> io::Result<ExitStatus> {
        let status = match self.child.as_mut() {
            Some(child) => child.wait().await,
            None => Err(io::Error::other("the child was already reaped")),
        };
        self.reaped = true;
        leaders().remove(&self.pgid);
        if let Some(record) = self.record.take() {
            record.finished();
        }
        status
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            leak::kill_group_and_escaped(self.pgid, &self.tag);
            if let Some(record) = self.record.take() {
                record.finished();
            }
            leaders().remove(&self.pgid);
        }
        // tokio's `kill_on_drop` then kills the (unreaped) child and reaps it later.
        drop(self.child.take());
    }
}
