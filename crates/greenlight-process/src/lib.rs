//! The only code in greenlight that starts processes.
//!
//! Every child runs in a new process group (made in the child before `exec`) with stdin
//! closed, and dies with greenlight (`PR_SET_PDEATHSIG`, set from a thread that lives as long
//! as the process). Its stdout and stderr are drained concurrently (no pipe deadlock) into
//! buffers bounded per stream ([`Captured`]: head, tail, total bytes) and into the check's log
//! file, which is bounded too (first and last bytes, a marker between). A timeout or a
//! [`Stop`] sends SIGTERM to the whole group, waits a grace period, then sends SIGKILL.
//!
//! After the child exits it stays unreaped while the rest is settled, so its group id cannot
//! be reused: the pipes get a leak timeout to close, then whatever still holds them and every
//! process that left the group (found through greenlight being their child subreaper and the
//! tag variable they inherit) is killed and reported in [`Output::leaked`]; the group's other
//! stragglers are killed with it. Signals go to the group or through pidfds, never to a bare
//! pid that may have been reused. Dropping a running command's future kills its group and
//! what it left outside at once.
//!
//! A [`ProcessRecord`] on the state directory records the groups a run starts, so that the
//! next run kills what a killed run left ([`sweep_leftovers`]).
//!
//! Other crates must not call `std::process::Command::new` or `tokio::process::Command::new`
//! (clippy `disallowed-methods` in `clippy.toml`).

mod capture;
mod cmd;
mod env;
mod leak;
mod log;
mod procfs;
mod record;
mod spawner;
mod stop;
mod unix;

pub use capture::Captured;
pub use cmd::{Cmd, DEFAULT_CAPTURE_LIMIT, DEFAULT_GRACE, DEFAULT_LEAK_TIMEOUT, ExitState, Output, ProcessError};
pub use env::{is_secret_name, scrubbed_env};
pub use leak::{Leak, LeakedProcess, Stream};
pub use log::{DEFAULT_LOG_HEAD, DEFAULT_LOG_TAIL};
pub use procfs::TAG_VARIABLE;
pub use record::{Leftover, ProcessRecord, RecordError, sweep_leftovers};
pub use stop::Stop;

/// Gives SIGINT, SIGTERM and SIGPIPE back their default action, once nothing greenlight started
/// is running any more: Ctrl-C or SIGTERM then ends a process blocked writing its outputs (a
/// FIFO nobody reads, a hung mount) at once, and a closed pipe (`greenlight list | head`) ends
/// it quietly, by SIGPIPE (status 141 in a shell), instead of a write error. While checks run,
/// the command's own handlers stop them first.
pub fn default_signal_actions() {
    unix::default_signal_actions();
}
