//! Renderers of a [`RunReport`]: every output format reads only the report model.
//!
//! File formats are pure functions from a report to text: [`json`], [`junit`], [`sarif`],
//! [`codequality`] (GitLab Code Quality), [`markdown`], the GitHub workflow commands of [`github`] and the escalation issue of
//! [`issue`]. The live terminal view
//! ([`terminal::LiveView`]) is the only stateful renderer; it owns the progress bars.
//! [`merge`] combines the reports of shards of one pipeline.
//!
//! No format prints a secret: every renderer reads the report through [`redact`], which
//! rebuilds the message of secret findings from what cannot hold the secret.

pub mod codequality;
mod common;
pub mod github;
pub mod issue;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
pub mod sarif;
pub mod terminal;
mod text;

pub use common::redact;
pub use greenlight_report::RunReport;
