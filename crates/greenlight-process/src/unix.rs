//! Signals to process groups (unix).
#![allow(unsafe_code, reason = "killpg(2) has no safe wrapper in std")]

/// Sends `signal` to every process in group `pgid`. Returns false when the group is empty.
pub(crate) fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg and kill have no memory-safety preconditions; an invalid id gives ESRCH.
    // Right after spawning, the child may not have made its group yet: signal it directly.
    unsafe { libc::killpg(pgid, signal) == 0 || libc::kill(pgid, signal) == 0 }
}

pub(crate) const SIGTERM: i32 = libc::SIGTERM;
pub(crate) const SIGKILL: i32 = libc::SIGKILL;

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

/// Kills the group when dropped, unless disarmed: a dropped command future leaves nothing.
pub(crate) struct GroupGuard {
    pub(crate) pgid: Option<i32>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, SIGKILL);
        }
    }
}
