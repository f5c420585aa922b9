//! System calls on processes and process groups (unix): the only module with `unsafe`.
//!
//! Each function wraps one call with no memory-safety preconditions beyond its arguments
//! being plain integers or descriptors this process owns; an id that names nothing gives
//! `ESRCH`, which callers treat as "already gone".
#![allow(unsafe_code, reason = "killpg(2), prctl(2), waitid(2) and the pidfd calls have no safe wrapper in std")]

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

pub(crate) const SIGTERM: i32 = libc::SIGTERM;
pub(crate) const SIGKILL: i32 = libc::SIGKILL;

/// Sends `signal` to every process in group `pgid`; false when the group has no process.
///
/// Only ever called for a group whose leader this process started and has not reaped yet
/// (alive or a zombie): the kernel does not reuse a process id while a process or group holds
/// it, so the group cannot be someone else's. The group exists from the moment the child runs
/// (`process_group(0)` makes it in the child before `exec`, and spawning returns after `exec`),
/// so nothing here signals a bare pid.
pub(crate) fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg has no memory-safety preconditions; an empty group gives ESRCH.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// Makes a spawned child die with this process: the kernel sends it SIGKILL when the thread
/// that forked it exits. Children are forked only on a thread that lives as long as the
/// process (`spawner.rs`), so this is the death of the process. If the process died between
/// `fork` and the `prctl`, the child sees another parent and does not run.
#[cfg(target_os = "linux")]
pub(crate) fn die_with_parent(command: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    let set = move || {
        // SAFETY: runs in the forked child before exec; prctl and getppid are async-signal-safe
        // system calls, and the error path does not allocate (`from_raw_os_error`).
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
        }
        Ok(())
    };
    // SAFETY: the closure only makes system calls that are safe between fork and exec.
    unsafe {
        command.pre_exec(set);
    }
}

/// Without `PR_SET_PDEATHSIG`, children outlive a killed greenlight until the next run's sweep.
#[cfg(not(target_os = "linux"))]
pub(crate) fn die_with_parent(_command: &mut tokio::process::Command) {}

/// Makes this process the reaper of its descendants' orphans (`PR_SET_CHILD_SUBREAPER`): a
/// process that a tool started and left behind becomes a child of greenlight instead of init,
/// where it can be found and killed. False where unsupported.
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with integer arguments has no memory-safety preconditions.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// A descriptor for process `pid` (`pidfd_open`): it keeps naming that process even after its
/// id is reused, so signals through it cannot reach another one. Readable once it exited.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the descriptor was just returned by the kernel and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Registers a pidfd with the current tokio runtime, to wait for its process to exit.
pub(crate) fn async_pidfd(pidfd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd is an open descriptor that it alone closes, and its `as_raw_fd`
    // returns that same descriptor for as long as the AsyncFd owns it.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE).map_err(Into::into)
    }
}

/// Sends `signal` to the process behind `pidfd`; an error when it is gone.
pub(crate) fn pidfd_signal(pidfd: &OwnedFd, signal: i32) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_send_signal with a null siginfo takes an owned descriptor and integers.
        let result =
            unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), signal, std::ptr::null::<u8>(), 0) };
        if result < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pidfd, signal);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Reaps the process behind `pidfd` if it is this process's child and has exited; true when
/// it did. Never waits, and never reaps any other process.
pub(crate) fn pidfd_reap(pidfd: &OwnedFd) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `info` is a zeroed siginfo_t the kernel writes into; the rest are integers.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG) == 0
                && info.si_pid() != 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pidfd;
        false
    }
}

/// True once child `pid` has exited, without reaping it (`waitid` with `WNOWAIT`): its id and
/// group stay reserved until it is reaped. Polled where there is no pidfd to wait on.
pub(crate) fn exited_unreaped(pid: i32) -> bool {
    // SAFETY: `info` is a zeroed siginfo_t the kernel writes into; the rest are integers.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let result =
            libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        #[cfg(target_os = "linux")]
        let exited = info.si_pid();
        #[cfg(not(target_os = "linux"))]
        let exited = info.si_pid;
        // ECHILD: not (or no longer) a child of ours, so nothing is left to wait for.
        result != 0 || exited != 0
    }
}

/// Sends `signal` to process `pid`. Only for kernels without pidfds, right after checking the
/// process's start time, and never for a process this one reaped.
pub(crate) fn signal_pid(pid: i32, signal: i32) -> bool {
    if pid <= 1 {
        return false;
    }
    // SAFETY: kill has no memory-safety preconditions; a missing process gives ESRCH.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// SIGINT, SIGTERM and SIGPIPE back to their default action (end the process).
pub(crate) fn default_signal_actions() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGPIPE] {
        // SAFETY: signal(2) with SIG_DFL installs no handler; it has no memory-safety
        // preconditions.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
}

/// The conventional name of a signal number (`SIGKILL`), for messages.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}
