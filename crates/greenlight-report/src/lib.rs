//! The report model of a greenlight run.
//!
//! [`RunReport`] serializes to the JSON report, which is a contract: users' scripts and every
//! other output format (terminal, JUnit, SARIF, Markdown, GitHub annotations) read it. Field
//! names are stable; fields are only ever added. Bump [`SCHEMA_VERSION`] on an incompatible
//! change.
//!
//! This crate is pure data: no I/O, no async runtime. [`text`] holds the text helpers every
//! crate that writes for people shares.

mod exit_code;
pub mod fingerprint;
mod model;
pub mod text;

pub use exit_code::ExitCode;
pub use model::*;

/// Version of the JSON report schema written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// Version of greenlight itself, recorded in every report.
pub const GREENLIGHT_VERSION: &str = env!("CARGO_PKG_VERSION");
