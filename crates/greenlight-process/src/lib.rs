//! The only code in greenlight that starts processes.
//!
//! Every child runs in a new process group with stdin closed. Its stdout and stderr are drained
//! concurrently (no pipe deadlock) into bounded buffers ([`Captured`]: head, tail, total bytes)
//! and, in full, into the check's log file. A timeout or a [`Stop`] sends SIGTERM to the whole
//! group, waits a grace period, then sends SIGKILL; after the child exits, stragglers left in its
//! group are killed too, so no descendant outlives the command. Dropping a running command's
//! future kills its group at once.
//!
//! Other crates must not call `std::process::Command::new` or `tokio::process::Command::new`
//! (clippy `disallowed-methods` in `clippy.toml`).

mod capture;
mod cmd;
mod env;
mod stop;
mod unix;

pub use capture::Captured;
pub use cmd::{Cmd, ExitState, Output, ProcessError};
pub use env::{is_secret_name, scrubbed_env};
pub use stop::Stop;
